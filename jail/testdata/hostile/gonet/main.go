// Command gonet dials the TCP address in its first argument from Go.
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	c, err := net.DialTimeout("tcp", os.Args[1], time.Second)
	fmt.Println("dial:", c, err)
}
