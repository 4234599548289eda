// Command gothreads is a Go thread bomb: goroutines that each hold an OS
// thread in a blocking system call.
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

func main() {
	for i := 0; ; i++ {
		go func() {
			runtime.LockOSThread()
			var ts syscall.Timespec
			ts.Sec = 3600
			syscall.Nanosleep(&ts, nil)
		}()
		if i%100 == 0 {
			fmt.Fprintln(os.Stderr, "goroutines", i)
		}
		runtime.Gosched()
	}
}
