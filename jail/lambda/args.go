package lambda

import (
	"fmt"
	"os"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// Args is the ExecArgs message: what the node hands a lambda. Serve fills
// it from stdin before calling the handler and does not touch it afterwards,
// so a handler may read it from many goroutines; writes need the handler's
// own locking. The zero Args has no args and no dependencies.
type Args struct {
	// Args are the strings given with lkv exec --arg, in order.
	Args []string
	// Values holds the dependencies passed inline (lkv exec --inline KEY),
	// by key.
	Values map[string][]byte
	// Files maps the keys of the dependencies passed as files (lkv exec
	// --dep KEY[:NAME]) to their paths, relative to the working directory.
	Files map[string]string
}

var (
	_ msgpack.CustomEncoder = (*Args)(nil)
	_ msgpack.CustomDecoder = (*Args)(nil)
)

// Arg returns the i-th argument, or "" if there are not that many.
func (a *Args) Arg(i int) string {
	if i < 0 || i >= len(a.Args) {
		return ""
	}
	return a.Args[i]
}

// Value returns the inline dependency key and whether it was passed inline.
func (a *Args) Value(key string) ([]byte, bool) {
	v, ok := a.Values[key]
	return v, ok
}

// Path returns the path of the file dependency key and whether it was
// passed as a file.
func (a *Args) Path(key string) (string, bool) {
	p, ok := a.Files[key]
	return p, ok
}

// ReadFile reads the file dependency key. The error wraps ErrNoDep if key
// was not passed as a file.
func (a *Args) ReadFile(key string) ([]byte, error) {
	p, ok := a.Files[key]
	if !ok {
		return nil, fmt.Errorf("read dependency %q: %w", key, ErrNoDep)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read dependency %q: %w", key, err)
	}
	return b, nil
}

// Get returns the dependency key however it was passed: the inline value,
// or the file's contents. The error wraps ErrNoDep if key is neither.
func (a *Args) Get(key string) ([]byte, error) {
	if v, ok := a.Values[key]; ok {
		return v, nil
	}
	return a.ReadFile(key)
}

// Keys returns the keys of all dependencies, inline and file, sorted.
func (a *Args) Keys() []string {
	keys := make([]string, 0, len(a.Values)+len(a.Files))
	for k := range a.Values {
		keys = append(keys, k)
	}
	for k := range a.Files {
		if _, dup := a.Values[k]; !dup {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// EncodeMsgpack writes a as an ExecArgs map, map keys sorted. It
// implements msgpack.CustomEncoder.
func (a *Args) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(3); err != nil {
		return err
	}
	if err := encodeStrings(e, "args", a.Args); err != nil {
		return err
	}
	if err := encodeStringMap(e, "files", a.Files); err != nil {
		return err
	}
	return encodeBytesMap(e, "values", a.Values)
}

func encodeStrings(e *msgpack.Encoder, field string, ss []string) error {
	if err := e.EncodeString(field); err != nil {
		return err
	}
	if err := e.EncodeArrayLen(len(ss)); err != nil {
		return err
	}
	for _, s := range ss {
		if err := encodeString(e, s); err != nil {
			return err
		}
	}
	return nil
}

func encodeBytesMap(e *msgpack.Encoder, field string, m map[string][]byte) error {
	if err := e.EncodeString(field); err != nil {
		return err
	}
	if err := e.EncodeMapLen(len(m)); err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		if err := encodeString(e, k); err != nil {
			return err
		}
		if err := encodeBytes(e, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func encodeStringMap(e *msgpack.Encoder, field string, m map[string]string) error {
	if err := e.EncodeString(field); err != nil {
		return err
	}
	if err := e.EncodeMapLen(len(m)); err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		if err := encodeString(e, k); err != nil {
			return err
		}
		if err := encodeString(e, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DecodeMsgpack reads an ExecArgs map into a, replacing its contents.
// Missing fields read as empty, unknown fields are skipped, a duplicated
// field or map key is an error. It implements msgpack.CustomDecoder.
func (a *Args) DecodeMsgpack(d *msgpack.Decoder) error {
	*a = Args{}
	n, err := readTopMap(d, "ExecArgs")
	if err != nil {
		return err
	}
	var seen fieldSet
	for range n {
		if err := a.decodeField(d, &seen); err != nil {
			return fmt.Errorf("ExecArgs: %w", err)
		}
	}
	return nil
}

// decodeField reads one key and value of the ExecArgs map.
func (a *Args) decodeField(d *msgpack.Decoder, seen *fieldSet) error {
	name, err := readString(d)
	if err != nil {
		return fmt.Errorf("field name: %w", err)
	}
	switch name {
	case "args":
		err = seen.add(0, name)
		if err == nil {
			a.Args, err = decodeStrings(d)
		}
	case "values":
		err = seen.add(1, name)
		if err == nil {
			a.Values, err = decodeMap(d, readBytes)
		}
	case "files":
		err = seen.add(2, name)
		if err == nil {
			a.Files, err = decodeMap(d, readString)
		}
	default:
		err = skipValue(d, 1)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// readTopMap reads the header of a message's top-level map; nil is refused.
func readTopMap(d *msgpack.Decoder, what string) (int, error) {
	c, err := peek(d)
	if err == nil && !isMap(c) {
		err = fmt.Errorf("got %s, want map", typeName(c))
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return readMapLen(d)
}

func decodeStrings(d *msgpack.Decoder) ([]string, error) {
	n, err := readArrayLen(d)
	if err != nil {
		return nil, err
	}
	ss := make([]string, 0, sizeHint(n))
	for i := range n {
		s, err := readString(d)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		ss = append(ss, s)
	}
	return ss, nil
}

// decodeMap reads a map with str keys and values read by value.
func decodeMap[V any](d *msgpack.Decoder, value func(*msgpack.Decoder) (V, error)) (map[string]V, error) {
	n, err := readMapLen(d)
	if err != nil {
		return nil, err
	}
	m := make(map[string]V, sizeHint(n))
	for i := range n {
		k, err := readString(d)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		if m[k], err = value(d); err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
	}
	return m, nil
}
