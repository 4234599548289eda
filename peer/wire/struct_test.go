package wire_test

import (
	"reflect"
	"testing"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// fillAll sets every field of the struct v points to (recursively, one
// element per slice) to a non-zero value, so that a round trip shows a
// field the encoder writes and the decoder forgets.
func fillAll(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem(), n)
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(v.Field(i), n)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{byte(*n)})
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(v.Index(0), n)
	case reflect.String:
		v.SetString("s" + string(rune('a'+*n%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n % 100))
	case reflect.Uint8, reflect.Uint64:
		v.SetUint(uint64(*n % 100))
	}
}

func TestResponse_allStructFieldsRoundTrip(t *testing.T) {
	var resp wire.Response
	var n int
	fillAll(reflect.ValueOf(&resp.Topology).Elem(), &n)
	fillAll(reflect.ValueOf(&resp.Stats).Elem(), &n)
	for i := range resp.Topology.Slots {
		resp.Topology.Slots[i].Start, resp.Topology.Slots[i].End = 1, 2
	}
	for i := range resp.Stats {
		resp.Stats[i].Slot = 3
	}
	frame, err := wire.NewEncoder().AppendResponse(nil, &resp)
	if err != nil {
		t.Fatal(err)
	}
	var got wire.Response
	if err := wire.NewDecoder().Response(frame[wire.HeaderSize:], &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Topology, resp.Topology) {
		t.Errorf("topology round trip:\n got %+v\nwant %+v", got.Topology, resp.Topology)
	}
	if !reflect.DeepEqual(got.Stats, resp.Stats) {
		t.Errorf("stats round trip:\n got %+v\nwant %+v", got.Stats, resp.Stats)
	}
}

func TestRequest_allStructFieldsRoundTrip(t *testing.T) {
	req := wire.Request{ID: 1, Op: wire.OpExecute, Key: "k"}
	var n int
	fillAll(reflect.ValueOf(&req.Deps).Elem(), &n)
	fillAll(reflect.ValueOf(&req.Outputs).Elem(), &n)
	fillAll(reflect.ValueOf(&req.Limits).Elem(), &n)
	frame, err := wire.NewEncoder().AppendRequest(nil, &req)
	if err != nil {
		t.Fatal(err)
	}
	var got wire.Request
	if err := wire.NewDecoder().Request(frame[wire.HeaderSize:], &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Limits, req.Limits) {
		t.Errorf("limits round trip: got %+v; want %+v", got.Limits, req.Limits)
	}
	if !reflect.DeepEqual(got.Deps, req.Deps) || !reflect.DeepEqual(got.Outputs, req.Outputs) {
		t.Errorf("deps/outputs round trip:\n got %+v %+v\nwant %+v %+v", got.Deps, got.Outputs, req.Deps, req.Outputs)
	}
}
