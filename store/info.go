package store

// Info returns key's value, permission and the offset of the write that
// stored it, or ErrNotFound. The offset identifies the value: it changes
// whenever the key is written again, so callers may cache what they derive
// from a value (a lambda binary, say) under key and offset. The value
// aliases the memory-mapped file, as with Get.
func (tx *ReadTx) Info(key string) (value []byte, perm Perm, offset uint64, err error) {
	r, err := tx.get(key)
	return r.value, r.perm, r.offset, err
}
