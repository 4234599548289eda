package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// CheckInvariants verifies a quiescent store (no writes in flight): bbolt's
// own consistency check of the file (which races with concurrent writers,
// so it is for quiescent stores only), CheckSnapshot, and that the
// published counters equal the ones in the file. Test cleanups call it
// before Close. It returns ErrClosed after Close.
func CheckInvariants(s *Store) error {
	quiesce(s)
	return view(s, func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		meta, err := checkSnapshot(tx)
		if err != nil {
			errs = append(errs, err)
		}
		if pub := *s.pub.Load(); pub != meta {
			errs = append(errs, fmt.Errorf("published counters %+v; file has %+v", pub, meta))
		}
		return errors.Join(errs...)
	})
}

// CheckSnapshot verifies, in one read transaction and so safely under
// concurrent writes, that the meta counters match the data: the number of
// keys, the sum of the value lengths, every key under its slot's prefix, and
// no record offset above the meta offset.
func CheckSnapshot(s *Store) error {
	return view(s, func(tx *bolt.Tx) error {
		_, err := checkSnapshot(tx)
		return err
	})
}

// quiesce waits until the committer has answered every op queued so far,
// including those of callers that gave up on their context, by queuing a
// delete of a key on slot 0xffff, which no key has. It counts as one
// Rejected op.
func quiesce(s *Store) {
	s.submit(context.Background(), &op{kind: opDelete, key: []byte{0xff, 0xff, 'q'}})
}

func view(s *Store, fn func(tx *bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func checkSnapshot(tx *bolt.Tx) (counters, error) {
	meta, err := readCounters(tx.Bucket(bucketMeta))
	if err != nil {
		return meta, err
	}
	var got counters
	err = tx.Bucket(bucketData).ForEach(func(k, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		if !bytes.Equal(k, dbKey(string(k[slotPrefixLen:]))) {
			return fmt.Errorf("key %q stored under the wrong slot prefix", k)
		}
		got.keys++
		got.bytes += int64(len(r.value))
		got.offset = max(got.offset, r.offset)
		return nil
	})
	if err != nil {
		return meta, err
	}
	if got.keys != meta.keys || got.bytes != meta.bytes || got.offset > meta.offset {
		return meta, fmt.Errorf("data has keys=%d bytes=%d max offset=%d; meta says keys=%d bytes=%d offset=%d",
			got.keys, got.bytes, got.offset, meta.keys, meta.bytes, meta.offset)
	}
	return meta, nil
}
