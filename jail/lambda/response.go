package lambda

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxKeyLen is the longest key a put may name, in bytes (DESIGN §3).
const MaxKeyLen = 16 << 10

// Response is the ExecResponse message: what a lambda answers. The zero
// Response is a success with no output and no puts. A Response is not safe
// for concurrent mutation.
type Response struct {
	// ReturnCode is the lambda's result; lkv exec exits with it. 0 means
	// success. It must fit in an int32.
	ReturnCode int
	// Output is the return_output the client prints.
	Output []byte
	// Puts are the keys the node stores for the lambda before it answers.
	Puts []Put
}

// Put is one key the lambda asks the node to store. A Put is a plain value.
type Put struct {
	// Key must be non-empty, at most MaxKeyLen bytes, without NUL, and not
	// repeated within one Response.
	Key string
	// Value is the bytes to store; nil stores an empty value.
	Value []byte
	// Perm must include R. Without W the key is immutable, which makes a
	// retried run harmless (a put of the same bytes and perm succeeds).
	Perm Perm
}

var (
	_ msgpack.CustomEncoder = (*Response)(nil)
	_ msgpack.CustomDecoder = (*Response)(nil)
)

// AddPut appends a put of key with value and perm to r and returns r.
func (r *Response) AddPut(key string, value []byte, perm Perm) *Response {
	r.Puts = append(r.Puts, Put{Key: key, Value: value, Perm: perm})
	return r
}

// Validate reports the first way r breaks the response rules: ReturnCode
// outside int32, or a put with a bad key, a bad perm or a repeated key.
func (r *Response) Validate() error {
	if r.ReturnCode < math.MinInt32 || r.ReturnCode > math.MaxInt32 {
		return fmt.Errorf("return_code %d outside the int32 range", r.ReturnCode)
	}
	var seen map[string]struct{}
	if len(r.Puts) > 1 {
		seen = make(map[string]struct{}, len(r.Puts))
	}
	for i, p := range r.Puts {
		if err := p.validate(); err != nil {
			return fmt.Errorf("puts[%d]: %w", i, err)
		}
		if _, dup := seen[p.Key]; dup {
			return fmt.Errorf("puts[%d]: key %q put twice", i, p.Key)
		}
		if seen != nil {
			seen[p.Key] = struct{}{}
		}
	}
	return nil
}

// validate checks one put's key and perm.
func (p *Put) validate() error {
	switch {
	case p.Key == "":
		return errors.New("empty key")
	case len(p.Key) > MaxKeyLen:
		return fmt.Errorf("key of %d bytes, longer than %d", len(p.Key), MaxKeyLen)
	case strings.IndexByte(p.Key, 0) >= 0:
		return fmt.Errorf("key %q contains NUL", p.Key)
	case p.Perm&^RWX != 0:
		return fmt.Errorf("key %q: perm %d has bits beyond rwx", p.Key, p.Perm)
	case !p.Perm.valid():
		return fmt.Errorf("key %q: perm %q lacks r", p.Key, p.Perm)
	}
	return nil
}

// EncodeMsgpack writes r as an ExecResponse map without checking it (see
// EncodeResponse). It implements msgpack.CustomEncoder.
func (r *Response) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(3); err != nil {
		return err
	}
	if err := e.EncodeString("puts"); err != nil {
		return err
	}
	if err := e.EncodeArrayLen(len(r.Puts)); err != nil {
		return err
	}
	for i := range r.Puts {
		if err := r.Puts[i].encode(e); err != nil {
			return err
		}
	}
	if err := e.EncodeString("return_code"); err != nil {
		return err
	}
	if err := e.EncodeInt(int64(r.ReturnCode)); err != nil {
		return err
	}
	if err := e.EncodeString("return_output"); err != nil {
		return err
	}
	return encodeBytes(e, r.Output)
}

// encode writes p as a put map, keys sorted.
func (p *Put) encode(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(3); err != nil {
		return err
	}
	if err := e.EncodeString("key"); err != nil {
		return err
	}
	if err := encodeString(e, p.Key); err != nil {
		return err
	}
	if err := e.EncodeString("perm"); err != nil {
		return err
	}
	if err := e.EncodeUint(uint64(p.Perm)); err != nil {
		return err
	}
	if err := e.EncodeString("value"); err != nil {
		return err
	}
	return encodeBytes(e, p.Value)
}

// DecodeMsgpack reads an ExecResponse map into r, replacing its contents,
// and checks it with Validate. Every field must be present exactly once;
// unknown fields are skipped. It implements msgpack.CustomDecoder.
func (r *Response) DecodeMsgpack(d *msgpack.Decoder) error {
	*r = Response{}
	n, err := readTopMap(d, "ExecResponse")
	if err != nil {
		return err
	}
	var seen fieldSet
	for range n {
		if err := r.decodeField(d, &seen); err != nil {
			return fmt.Errorf("ExecResponse: %w", err)
		}
	}
	if seen != 0b111 {
		return fmt.Errorf("ExecResponse: %w", missing(seen, "return_code", "return_output", "puts"))
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("ExecResponse: %w", err)
	}
	return nil
}

// decodeField reads one key and value of the ExecResponse map.
func (r *Response) decodeField(d *msgpack.Decoder, seen *fieldSet) error {
	name, err := readString(d)
	if err != nil {
		return fmt.Errorf("field name: %w", err)
	}
	switch name {
	case "return_code":
		err = seen.add(0, name)
		if err == nil {
			var rc int64
			rc, err = readInt(d, math.MinInt32, math.MaxInt32)
			r.ReturnCode = int(rc)
		}
	case "return_output":
		err = seen.add(1, name)
		if err == nil {
			r.Output, err = readBytes(d)
		}
	case "puts":
		err = seen.add(2, name)
		if err == nil {
			r.Puts, err = decodePuts(d)
		}
	default:
		err = skipValue(d, 1)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// missing names the first field absent from seen.
func missing(seen fieldSet, names ...string) error {
	for i, name := range names {
		if seen&(1<<i) == 0 {
			return fmt.Errorf("missing field %q", name)
		}
	}
	return nil
}

func decodePuts(d *msgpack.Decoder) ([]Put, error) {
	n, err := readArrayLen(d)
	if err != nil {
		return nil, err
	}
	puts := make([]Put, 0, sizeHint(n))
	for i := range n {
		var p Put
		if err := p.decode(d); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		puts = append(puts, p)
	}
	return puts, nil
}

// decode reads one put map; every field must be present exactly once.
func (p *Put) decode(d *msgpack.Decoder) error {
	n, err := readMapLen(d)
	if err != nil {
		return err
	}
	var seen fieldSet
	for range n {
		if err := p.decodeField(d, &seen); err != nil {
			return err
		}
	}
	return missing(seen, "key", "value", "perm")
}

// decodeField reads one key and value of a put map.
func (p *Put) decodeField(d *msgpack.Decoder, seen *fieldSet) error {
	name, err := readString(d)
	if err != nil {
		return fmt.Errorf("field name: %w", err)
	}
	switch name {
	case "key":
		err = seen.add(0, name)
		if err == nil {
			p.Key, err = readString(d)
		}
	case "value":
		err = seen.add(1, name)
		if err == nil {
			p.Value, err = readBytes(d)
		}
	case "perm":
		err = seen.add(2, name)
		if err == nil {
			var v int64
			v, err = readInt(d, 0, int64(RWX))
			p.Perm = Perm(v)
		}
	default:
		err = skipValue(d, 2)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
