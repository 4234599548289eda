package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer"
)

// startNode starts a throwaway node on a free port and returns its address
// and a function that stops it.
func startNode() (string, func()) {
	dir, err := os.MkdirTemp("", "lkv-example")
	if err != nil {
		log.Fatal(err)
	}
	cfg := peer.DefaultConfig()
	cfg.DataDir, cfg.Port, cfg.HTTPPort, cfg.GossipPort, cfg.Executors = dir, 0, -1, -1, -1
	cfg.Logger = hclog.NewNullLogger()
	p, err := peer.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return p.Addr(), func() {
		_ = p.Shutdown(context.Background())
		os.RemoveAll(dir)
	}
}

func Example() {
	addr, stop := startNode()
	defer stop()
	ctx := context.Background()

	c, err := client.Dial(ctx, client.Config{Seeds: []string{addr}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := c.Put(ctx, "greeting", []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := c.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(v))

	_, err = c.Get(ctx, "nobody")
	fmt.Println(errors.Is(err, client.ErrNotFound))
	// Output:
	// hello
	// true
}

// Immutable keys (no W) accept a repeat of the same put, which makes
// retries harmless, and refuse anything else.
func ExampleClient_Put_immutable() {
	addr, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{Seeds: []string{addr}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	fmt.Println(c.Put(ctx, "result", []byte("42"), client.WithPerm(client.PermR)))
	fmt.Println(c.Put(ctx, "result", []byte("42"), client.WithPerm(client.PermR)))
	err = c.Put(ctx, "result", []byte("43"), client.WithPerm(client.PermR))
	fmt.Println(errors.Is(err, client.ErrReadOnly))
	// Output:
	// <nil>
	// <nil>
	// true
}

// The Async methods keep many requests in flight on one connection from a
// single goroutine.
func ExampleClient_GetAsync() {
	addr, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{Seeds: []string{addr}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var puts []*client.Future[uint64]
	for i := range 3 {
		puts = append(puts, c.PutAsync(ctx, fmt.Sprintf("k%d", i), []byte(fmt.Sprint(i*i))))
	}
	for _, f := range puts {
		if _, err := f.Wait(); err != nil {
			log.Fatal(err)
		}
	}
	var gets []*client.Future[[]byte]
	for i := range 3 {
		gets = append(gets, c.GetAsync(ctx, fmt.Sprintf("k%d", i)))
	}
	for _, f := range gets {
		v, err := f.Wait()
		fmt.Println(string(v), err)
	}
	// Output:
	// 0 <nil>
	// 1 <nil>
	// 4 <nil>
}

func ExampleClient_Stat() {
	addr, stop := startNode()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{Seeds: []string{addr}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_ = c.Put(ctx, "{user1000}.profile", []byte("hello"), client.WithPerm(client.PermR))
	infos, err := c.Stat(ctx, "{user1000}.profile", "{user1000}.missing")
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range infos {
		fmt.Println(in.Key, in.Found, in.Size, client.Perm(in.Perm), in.Slot)
	}
	// Output:
	// {user1000}.profile true 5 r-- 3443
	// {user1000}.missing false 0 --- 3443
}
