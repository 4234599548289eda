package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// ReadTx is a read transaction, handed to the function given to
// Store.View. It is valid only inside that function and must not be used
// by other goroutines meanwhile.
type ReadTx struct {
	data *bolt.Bucket
}

// Get returns key's value and its permission, or ErrNotFound. The value
// aliases the memory-mapped file: it is valid only until the View function
// returns and must not be modified.
func (tx *ReadTx) Get(key string) (value []byte, perm Perm, err error) {
	r, err := tx.get(key)
	return r.value, r.perm, err
}

// Stat returns the length of key's value, in bytes, and its permission, or
// ErrNotFound.
func (tx *ReadTx) Stat(key string) (size int64, perm Perm, err error) {
	r, err := tx.get(key)
	return int64(len(r.value)), r.perm, err
}

func (tx *ReadTx) get(key string) (record, error) {
	var buf [128]byte
	rec := tx.data.Get(appendDBKey(buf[:0], key))
	if rec == nil {
		return record{}, ErrNotFound
	}
	return decodeRecord(rec)
}

func (tx *ReadTx) scanSlot(slot uint16, fn func(key string, value []byte, perm Perm, offset uint64) error) error {
	prefix := slotPrefix(slot)
	c := tx.data.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		if err := fn(string(k[slotPrefixLen:]), r.value, r.perm, r.offset); err != nil {
			return err
		}
	}
	return nil
}
