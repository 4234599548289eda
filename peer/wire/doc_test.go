package wire_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestProtocolDoc_workedExample checks that the annotated frames of
// docs/protocol.md §16 are the frames of the vectors they name.
func TestProtocolDoc_workedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## 16. Worked example")
	if !ok {
		t.Fatal("docs/protocol.md has no section 16")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := docHexBlocks(t, section)
	vectors := map[string][]byte{}
	for _, b := range readVectors(t) {
		vectors[b.name] = b.frame
	}
	want := []string{"get/request", "get/response", "get/response-not-found"}
	if len(blocks) != len(want) {
		t.Fatalf("section 16 has %d hex blocks; want %d", len(blocks), len(want))
	}
	for i, name := range want {
		if !bytes.Equal(blocks[i], vectors[name]) {
			t.Errorf("block %d:\n%s\nvector %s:\n%s", i+1, hexLines(blocks[i], ""), name, hexLines(vectors[name], ""))
		}
	}
}

// docHexBlocks returns the bytes of each fenced block: on every line, the
// hex bytes before the annotation (which follows two or more spaces).
func docHexBlocks(t *testing.T, text string) [][]byte {
	var blocks [][]byte
	var cur []byte
	in := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			if in {
				blocks = append(blocks, cur)
				cur = nil
			}
			in = !in
			continue
		}
		if !in {
			continue
		}
		hexPart, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		b, err := hex.DecodeString(strings.ReplaceAll(hexPart, " ", ""))
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		cur = append(cur, b...)
	}
	return blocks
}
