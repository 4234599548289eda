// Command gobenign is a well-behaved Go lambda: it prints its arguments,
// its stdin size and the dependency in.txt, writes out.txt, starts a few
// goroutines, and exits with the code in its second argument.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

func main() {
	in, _ := io.ReadAll(os.Stdin)
	dep, err := os.ReadFile("in.txt")
	fmt.Printf("args %q stdin %d bytes\nin.txt: %s (err %v)\n", os.Args, len(in), dep, err)
	var wg sync.WaitGroup
	sums := make([]int, 8)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 100000 {
				sums[i] += k % (i + 1)
			}
		}()
	}
	wg.Wait()
	fmt.Println("sums", sums)
	if err := os.WriteFile("out.txt", []byte("go output\n"), 0o644); err != nil {
		fmt.Println("write:", err)
	}
	if len(os.Args) > 2 {
		code, _ := strconv.Atoi(os.Args[2])
		os.Exit(code)
	}
}
