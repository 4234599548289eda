package words_test

import (
	"reflect"
	"testing"

	"github.com/lambdakv/lambdakv/cmd/lambdas/internal/words"
)

func TestCounts_Add(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want words.Counts
	}{
		{"", words.Counts{}},
		{"  \n\t", words.Counts{}},
		{"Hello, hello HELLO!", words.Counts{"hello": 3}},
		{"don't stop-me now2", words.Counts{"don": 1, "t": 1, "stop": 1, "me": 1, "now2": 1}},
		{"Ünïcode stays Ünïcode", words.Counts{"Ünïcode": 2, "stays": 1}},
		{"end", words.Counts{"end": 1}},
	} {
		got := make(words.Counts)
		got.Add([]byte(tt.in))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Add(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestCounts_FormatParse(t *testing.T) {
	c := words.Counts{"b": 2, "a": 10, "ü": 1}
	got := string(c.Format())
	if want := "a 10\nb 2\nü 1\n"; got != want {
		t.Errorf("Format() = %q; want %q", got, want)
	}
	back, err := words.Parse([]byte(got + got))
	if err != nil {
		t.Fatal(err)
	}
	if want := (words.Counts{"a": 20, "b": 4, "ü": 2}); !reflect.DeepEqual(back, want) {
		t.Errorf("Parse(twice) = %v; want %v", back, want)
	}
	if c.Total() != 13 {
		t.Errorf("Total() = %d; want 13", c.Total())
	}
}

func TestParse_errors(t *testing.T) {
	for _, in := range []string{"word", "word x", "word -1", " 5"} {
		if _, err := words.Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded; want error", in)
		}
	}
}

func TestPartition(t *testing.T) {
	// Fixed values: other implementations (and stored outputs) depend on them.
	for _, tt := range []struct {
		word string
		n    int
		want int
	}{
		{"", 7, int(2166136261 % 7)},
		{"a", 1, 0},
		{"a", 1 << 30, int(0xe40c292c % (1 << 30))},
		{"hello", 4, int(0x4f9f2cab % 4)},
	} {
		if got := words.Partition(tt.word, tt.n); got != tt.want {
			t.Errorf("Partition(%q, %d) = %d; want %d", tt.word, tt.n, got, tt.want)
		}
	}
}

func TestCounts_Split(t *testing.T) {
	c := make(words.Counts)
	c.Add([]byte("the quick brown fox jumps over the lazy dog"))
	parts := c.Split(3)
	merged := make(words.Counts)
	for i, p := range parts {
		for w := range p {
			if words.Partition(w, 3) != i {
				t.Errorf("%q in partition %d; want %d", w, i, words.Partition(w, 3))
			}
		}
		merged.Merge(p)
	}
	if !reflect.DeepEqual(merged, c) {
		t.Errorf("merged partitions = %v; want %v", merged, c)
	}
}
