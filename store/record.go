package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/lambdakv/lambdakv/slots"
)

// On-disk layout.
//
// Bucket "data": bbolt key = 2-byte big-endian slot || key bytes, so the
// keys of one slot are contiguous; bbolt value = a record:
//
//	perm (1 byte) || offset (8 bytes, big-endian) || value bytes
//
// Bucket "meta": the counters below, each 8 bytes big-endian, updated in the
// same transaction as the writes they count.
var (
	bucketData = []byte("data")
	bucketMeta = []byte("meta")

	metaOffset = []byte("offset") // offset of the last committed write
	metaKeys   = []byte("keys")   // number of keys in "data"
	metaBytes  = []byte("bytes")  // sum of the value lengths in "data"
)

const (
	slotPrefixLen   = 2
	recordHeaderLen = 1 + 8
)

// dbKey returns the bbolt key of key: its slot, big-endian, then its bytes.
func dbKey(key string) []byte {
	return appendDBKey(make([]byte, 0, slotPrefixLen+len(key)), key)
}

// appendDBKey appends the bbolt key of key to dst.
func appendDBKey(dst []byte, key string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, slots.KeySlot(key))
	return append(dst, key...)
}

// slotPrefix returns the 2-byte prefix shared by every key of slot.
func slotPrefix(slot uint16) []byte {
	return binary.BigEndian.AppendUint16(nil, slot)
}

// newRecord returns a record for value with perm and a zero offset; the
// committer fills the offset in with setOffset.
func newRecord(value []byte, perm Perm) []byte {
	rec := make([]byte, recordHeaderLen+len(value))
	rec[0] = byte(perm)
	copy(rec[recordHeaderLen:], value)
	return rec
}

func setOffset(rec []byte, off uint64) { binary.BigEndian.PutUint64(rec[1:recordHeaderLen], off) }

// record is a decoded view of a stored record; value aliases the bytes it
// was decoded from.
type record struct {
	perm   Perm
	offset uint64
	value  []byte
}

// decodeRecord decodes rec. A record shorter than its header means the file
// is corrupt.
func decodeRecord(rec []byte) (record, error) {
	if len(rec) < recordHeaderLen {
		return record{}, fmt.Errorf("store: corrupt record: %d bytes, header needs %d", len(rec), recordHeaderLen)
	}
	return record{
		perm:   Perm(rec[0]),
		offset: binary.BigEndian.Uint64(rec[1:recordHeaderLen]),
		value:  rec[recordHeaderLen:],
	}, nil
}

// counters are the values kept in the meta bucket.
type counters struct {
	offset uint64
	keys   int64
	bytes  int64
	hist   History
}

func readCounters(b *bolt.Bucket) (counters, error) {
	var v [3]uint64
	for i, name := range [][]byte{metaOffset, metaKeys, metaBytes} {
		raw := b.Get(name)
		switch len(raw) {
		case 0: // a new store
		case 8:
			v[i] = binary.BigEndian.Uint64(raw)
		default:
			return counters{}, fmt.Errorf("store: corrupt meta %s: %d bytes", name, len(raw))
		}
	}
	return counters{offset: v[0], keys: int64(v[1]), bytes: int64(v[2]), hist: readHistory(b)}, nil
}

func writeCounters(b *bolt.Bucket, c counters) error {
	for _, kv := range []struct {
		name []byte
		v    uint64
	}{{metaOffset, c.offset}, {metaKeys, uint64(c.keys)}, {metaBytes, uint64(c.bytes)}} {
		if err := b.Put(kv.name, binary.BigEndian.AppendUint64(nil, kv.v)); err != nil {
			return fmt.Errorf("store: write meta %s: %w", kv.name, err)
		}
	}
	if err := writeHistory(b, c.hist); err != nil {
		return fmt.Errorf("store: write meta history: %w", err)
	}
	return nil
}
