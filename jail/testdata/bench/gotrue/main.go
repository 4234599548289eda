// Command gotrue is a trivial Go lambda: it reads stdin and writes its
// length.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	b, _ := io.ReadAll(os.Stdin)
	fmt.Printf("read %d\n", len(b))
}
