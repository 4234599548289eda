// Package words splits text into words and counts them for the example
// lambdas (wordcount, mapper, reducer).
//
// A word is a maximal run of bytes that are ASCII letters, ASCII digits, or
// any byte of 0x80 and above (so the letters of UTF-8 text stay whole);
// ASCII letters are lowercased. The rule is byte-based on purpose: the C
// example, cmd/lambdas/c/wordcount.c, applies the same one and gives the
// same counts.
//
// Counts travel between lambdas in the text form Format writes: one
// "word count" line per word, sorted by word (byte order). That is also the
// output of wordcount, so a reducer's input and result read the same.
package words

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
)

// Counts maps words to how often they occur. The zero value is not usable;
// make one with make(Counts). A Counts is not safe for concurrent writes.
type Counts map[string]int64

// isWordByte reports whether c belongs to a word.
func isWordByte(c byte) bool {
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// Add counts the words of text.
func (c Counts) Add(text []byte) {
	var w []byte
	for i := 0; i <= len(text); i++ {
		if i < len(text) && isWordByte(text[i]) {
			w = append(w, lower(text[i]))
			continue
		}
		if len(w) > 0 {
			c[string(w)]++
			w = w[:0]
		}
	}
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Merge adds the counts of o to c.
func (c Counts) Merge(o Counts) {
	for w, n := range o {
		c[w] += n
	}
}

// Total returns the number of words counted.
func (c Counts) Total() int64 {
	var t int64
	for _, n := range c {
		t += n
	}
	return t
}

// Format writes c as "word count" lines sorted by word. Equal counts give
// equal bytes, which is what makes a retried put of the result harmless.
func (c Counts) Format() []byte {
	ws := make([]string, 0, len(c))
	for w := range c {
		ws = append(ws, w)
	}
	slices.Sort(ws)
	var b []byte
	for _, w := range ws {
		b = append(b, w...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, c[w], 10)
		b = append(b, '\n')
	}
	return b
}

// Parse reads what Format wrote. Repeated words are added up.
func Parse(b []byte) (Counts, error) {
	c := make(Counts)
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		sp := bytes.LastIndexByte(line, ' ')
		if sp <= 0 {
			return nil, fmt.Errorf("line %d: %q is not \"word count\"", i+1, line)
		}
		n, err := strconv.ParseInt(string(line[sp+1:]), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("line %d: bad count in %q", i+1, line)
		}
		c[string(line[:sp])] += n
	}
	return c, nil
}

// Partition returns which of n partitions word belongs to: the 32-bit
// FNV-1a hash of its bytes modulo n. It panics if n < 1.
func Partition(word string, n int) int {
	if n < 1 {
		panic("words: Partition with n < 1")
	}
	h := fnv.New32a()
	h.Write([]byte(word))
	return int(h.Sum32() % uint32(n))
}

// Split divides c into n partitions by Partition.
func (c Counts) Split(n int) []Counts {
	parts := make([]Counts, n)
	for i := range parts {
		parts[i] = make(Counts)
	}
	for w, k := range c {
		parts[Partition(w, n)][w] = k
	}
	return parts
}
