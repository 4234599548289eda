package membership

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/memberlist"
)

// MetaMaxSize is the most bytes an encoded Meta may take: memberlist's
// limit on node metadata (512 bytes, carried in every alive message) less
// 3 bytes that this package reserves for its own flags.
const MetaMaxSize = memberlist.MetaMaxSize - flagsRecordLen

// Meta is the metadata a node publishes about itself: where clients and
// operators reach it and what it does. The zero value is an empty Meta. A
// Meta is a plain value; Members and Events hand out copies (Tags
// included), so readers may keep them.
//
// Encoded, a Meta must fit in MetaMaxSize bytes (509); New and UpdateMeta
// refuse one that does not with ErrMetaTooLarge.
type Meta struct {
	// ClientAddr is the client protocol address, host:port.
	ClientAddr string
	// HTTPAddr is the HTTP (metrics, status) address, host:port, or "".
	HTTPAddr string
	// Role is the node's role as the peer names it (master, replica,
	// compute, ...). This package does not interpret it.
	Role string
	// Version is the software version.
	Version string
	// Tags holds any other small key/value pairs. Nil and empty are the
	// same and decode as nil.
	Tags map[string]string
}

// Meta encoding: a format byte (metaFormat), then records of a tag byte, a
// uvarint length and that many bytes. Decoders skip tags they do not know,
// so fields can be added without a format change.
const metaFormat = 1

const (
	metaClientAddr byte = 1
	metaHTTPAddr   byte = 2
	metaRole       byte = 3
	metaVersion    byte = 4
	metaTag        byte = 5    // value: uvarint key length, key, value
	metaFlags      byte = 0x40 // internal: one byte of flag bits
)

// Flag bits of the internal metaFlags record.
const flagLeaving byte = 1 // the node is leaving gracefully (see Leave)

// flagsRecordLen is the size of the metaFlags record: tag, length, flags.
const flagsRecordLen = 3

var errMetaCorrupt = errors.New("corrupt node metadata")

// encodeMeta encodes m and the internal flags, and checks the size limit.
func encodeMeta(m Meta, flags byte) ([]byte, error) {
	b := []byte{metaFormat}
	b = appendField(b, metaClientAddr, m.ClientAddr)
	b = appendField(b, metaHTTPAddr, m.HTTPAddr)
	b = appendField(b, metaRole, m.Role)
	b = appendField(b, metaVersion, m.Version)
	keys := make([]string, 0, len(m.Tags))
	for k := range m.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic: equal metas encode equally
	for _, k := range keys {
		kv := binary.AppendUvarint(nil, uint64(len(k)))
		kv = append(append(kv, k...), m.Tags[k]...)
		b = appendField(b, metaTag, string(kv))
	}
	if len(b) > MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrMetaTooLarge, len(b), MetaMaxSize)
	}
	if flags != 0 {
		b = append(b, metaFlags, 1, flags)
	}
	return b, nil
}

// appendField appends one record; empty values are left out.
func appendField(b []byte, tag byte, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decodeMeta decodes what encodeMeta wrote. Empty input is an empty Meta (a
// node that publishes nothing).
func decodeMeta(b []byte) (Meta, byte, error) {
	var m Meta
	var flags byte
	if len(b) == 0 {
		return m, 0, nil
	}
	if b[0] < metaFormat {
		return m, 0, fmt.Errorf("%w: format %d", errMetaCorrupt, b[0])
	}
	for rest := b[1:]; len(rest) > 0; {
		tag := rest[0]
		n, k := binary.Uvarint(rest[1:])
		if k <= 0 || n > uint64(len(rest)-1-k) {
			return Meta{}, 0, fmt.Errorf("%w: record %#x truncated", errMetaCorrupt, tag)
		}
		v := rest[1+k : 1+k+int(n)]
		rest = rest[1+k+int(n):]
		if err := m.setField(tag, v, &flags); err != nil {
			return Meta{}, 0, err
		}
	}
	return m, flags, nil
}

// setField stores one decoded record.
func (m *Meta) setField(tag byte, v []byte, flags *byte) error {
	switch tag {
	case metaClientAddr:
		m.ClientAddr = string(v)
	case metaHTTPAddr:
		m.HTTPAddr = string(v)
	case metaRole:
		m.Role = string(v)
	case metaVersion:
		m.Version = string(v)
	case metaTag:
		n, k := binary.Uvarint(v)
		if k <= 0 || n > uint64(len(v)-k) {
			return fmt.Errorf("%w: tag truncated", errMetaCorrupt)
		}
		if m.Tags == nil {
			m.Tags = make(map[string]string)
		}
		m.Tags[string(v[k:k+int(n)])] = string(v[k+int(n):])
	case metaFlags:
		if len(v) > 0 {
			*flags = v[0]
		}
	}
	return nil
}

// clone returns a deep copy, so that callers never share a Tags map.
func (m Meta) clone() Meta {
	if m.Tags != nil {
		tags := make(map[string]string, len(m.Tags))
		for k, v := range m.Tags {
			tags[k] = v
		}
		m.Tags = tags
	}
	return m
}
