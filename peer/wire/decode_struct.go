package wire

import (
	"fmt"
	"math"
)

// The structured fields (deps, outputs, stats, topology) are small and off
// the hot path, but they are decoded by hand too: the reflection decoder of
// the msgpack library preallocates slices from the lengths a frame declares.
// Their integers may take any value of their Go type, so that whatever the
// (reflection) encoder writes decodes.

// object reads a map into a struct, calling field for each key. A nil reads
// as an empty map. field skips keys it does not know.
func (d *Decoder) object(field func(k []byte) error) error {
	n, err := d.r.mapLen()
	if err != nil {
		return err
	}
	for range n {
		k, err := d.r.key()
		if err != nil {
			return fmt.Errorf("map key: %w", err)
		}
		if err := field(k); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	return nil
}

// decodeList reads an array of objects; a nil reads as a nil slice.
func decodeList[T any](d *Decoder, field func(d *Decoder, k []byte, v *T) error) ([]T, error) {
	n, err := d.r.arrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	out := make([]T, n)
	for i := range out {
		v := &out[i]
		if err := d.object(func(k []byte) error { return field(d, k, v) }); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return out, nil
}

// limits reads ExecLimits; a nil reads as nil.
func (d *Decoder) limits() (*ExecLimits, error) {
	if d.r.nilNext() {
		return nil, nil
	}
	l := new(ExecLimits)
	err := d.object(func(k []byte) (err error) {
		var i int64
		switch string(k) {
		case "cpu_ms":
			l.CPUMillis, err = d.r.int(0, math.MaxInt64)
		case "memory":
			l.Memory, err = d.r.int(0, math.MaxInt64)
		case "procs":
			i, err = d.r.int(0, math.MaxInt32)
			l.Procs = int(i)
		case "file_size":
			l.FileSize, err = d.r.int(0, math.MaxInt64)
		case "open_files":
			i, err = d.r.int(0, math.MaxInt32)
			l.OpenFiles = int(i)
		case "stdout":
			l.Stdout, err = d.r.int(0, math.MaxInt64)
		default:
			err = d.r.skip()
		}
		return err
	})
	return l, err
}

func (d *Decoder) recordField(k []byte, v *Record) (err error) {
	switch string(k) {
	case "key":
		v.Key, err = d.r.str()
	case "value":
		v.Value, err = d.r.bytes()
		if v.Value == nil && err == nil {
			v.Value = []byte{}
		}
	case "perm":
		var u uint64
		u, err = d.r.uint(math.MaxUint8)
		v.Perm = uint8(u)
	case "offset":
		v.Offset, err = d.r.uint(math.MaxUint64)
	default:
		err = d.r.skip()
	}
	return err
}

func (d *Decoder) entryField(k []byte, v *Entry) (err error) {
	var u uint64
	switch string(k) {
	case "offset":
		v.Offset, err = d.r.uint(math.MaxUint64)
	case "kind":
		u, err = d.r.uint(math.MaxUint8)
		v.Kind = uint8(u)
	case "key":
		v.Key, err = d.r.str()
	case "value":
		v.Value, err = d.r.bytes()
	case "perm":
		u, err = d.r.uint(math.MaxUint8)
		v.Perm = uint8(u)
	case "slot":
		var i int64
		i, err = d.r.int(math.MinInt, math.MaxInt)
		v.Slot = int(i)
	default:
		err = d.r.skip()
	}
	return err
}

// execStats reads ExecStats; a nil reads as nil.
func (d *Decoder) execStats() (*ExecStats, error) {
	if d.r.nilNext() {
		return nil, nil
	}
	s := new(ExecStats)
	err := d.object(func(k []byte) (err error) {
		var dst *int64
		switch string(k) {
		case "queue_us":
			dst = &s.QueueMicros
		case "fetch_us":
			dst = &s.FetchMicros
		case "run_us":
			dst = &s.RunMicros
		case "store_us":
			dst = &s.StoreMicros
		case "bytes_local":
			dst = &s.BytesLocal
		case "bytes_cache":
			dst = &s.BytesCache
		case "bytes_remote":
			dst = &s.BytesRemote
		default:
			return d.r.skip()
		}
		*dst, err = d.r.int(math.MinInt64, math.MaxInt64)
		return err
	})
	return s, err
}

func (d *Decoder) depField(k []byte, v *Dep) (err error) {
	switch string(k) {
	case "key":
		v.Key, err = d.r.str()
	case "as_file":
		v.AsFile, err = d.r.bool()
	case "name":
		v.Name, err = d.r.str()
	default:
		err = d.r.skip()
	}
	return err
}

func (d *Decoder) outputField(k []byte, v *Output) (err error) {
	switch string(k) {
	case "file":
		v.File, err = d.r.str()
	case "key":
		v.Key, err = d.r.str()
	case "perm":
		var u uint64
		u, err = d.r.uint(math.MaxUint8)
		v.Perm = uint8(u)
	default:
		err = d.r.skip()
	}
	return err
}

func (d *Decoder) statField(k []byte, v *StatEntry) (err error) {
	var i int64
	switch string(k) {
	case "key":
		v.Key, err = d.r.str()
	case "found":
		v.Found, err = d.r.bool()
	case "size":
		v.Size, err = d.r.int(math.MinInt64, math.MaxInt64)
	case "perm":
		var u uint64
		u, err = d.r.uint(math.MaxUint8)
		v.Perm = uint8(u)
	case "slot":
		i, err = d.r.int(math.MinInt, math.MaxInt)
		v.Slot = int(i)
	case "owner":
		v.Owner, err = d.r.str()
	case "addr":
		v.Addr, err = d.r.str()
	default:
		err = d.r.skip()
	}
	return err
}

// topology reads a Topology; a nil reads as a nil *Topology.
func (d *Decoder) topology() (*Topology, error) {
	if d.r.nilNext() {
		return nil, nil
	}
	t := new(Topology)
	err := d.object(func(k []byte) (err error) {
		switch string(k) {
		case "cluster":
			t.Cluster, err = d.r.str()
		case "epoch":
			t.Epoch, err = d.r.uint(math.MaxUint64)
		case "migrations":
			var n int64
			n, err = d.r.int(0, math.MaxInt32)
			t.Migrations = int(n)
		case "migrating_slots":
			var n int64
			n, err = d.r.int(0, math.MaxInt32)
			t.MigratingSlots = int(n)
		case "nodes":
			t.Nodes, err = decodeList(d, (*Decoder).nodeField)
		case "slots":
			t.Slots, err = decodeList(d, (*Decoder).slotRangeField)
		default:
			err = d.r.skip()
		}
		return err
	})
	return t, err
}

func (d *Decoder) nodeField(k []byte, v *NodeInfo) (err error) {
	switch string(k) {
	case "id":
		v.ID, err = d.r.str()
	case "addr":
		v.Addr, err = d.r.str()
	case "gossip_addr":
		v.GossipAddr, err = d.r.str()
	case "http_addr":
		v.HTTPAddr, err = d.r.str()
	case "role":
		v.Role, err = d.r.str()
	case "state":
		v.State, err = d.r.str()
	case "master":
		v.Master, err = d.r.str()
	default:
		return d.nodeMoreField(k, v)
	}
	return err
}

func (d *Decoder) nodeMoreField(k []byte, v *NodeInfo) (err error) {
	var i int64
	switch string(k) {
	case "coordinator":
		v.Coordinator, err = d.r.bool()
	case "slots":
		i, err = d.r.int(math.MinInt, math.MaxInt)
		v.Slots = int(i)
	case "version":
		v.Version, err = d.r.str()
	case "offset":
		v.Offset, err = d.r.uint(math.MaxUint64)
	case "executors":
		i, err = d.r.int(math.MinInt, math.MaxInt)
		v.Executors = int(i)
	case "pipeline":
		i, err = d.r.int(math.MinInt, math.MaxInt)
		v.Pipeline = int(i)
	case "lag":
		v.Lag, err = d.r.uint(math.MaxUint64)
	case "lag_ms":
		v.LagMillis, err = d.r.int(math.MinInt64, math.MaxInt64)
	case "link":
		v.Link, err = d.r.str()
	default:
		err = d.r.skip()
	}
	return err
}

func (d *Decoder) slotRangeField(k []byte, v *SlotRange) (err error) {
	var i int64
	switch string(k) {
	case "start":
		i, err = d.r.int(math.MinInt, math.MaxInt)
		v.Start = int(i)
	case "end":
		i, err = d.r.int(math.MinInt, math.MaxInt)
		v.End = int(i)
	case "master":
		v.Master, err = d.r.str()
	case "replicas":
		v.Replicas, err = d.strs()
	case "epoch":
		v.Epoch, err = d.r.uint(math.MaxUint64)
	default:
		err = d.r.skip()
	}
	return err
}
