// Command noop is the trivial Go lambda for benchmarks: it answers at once
// with an empty output.
package main

import "github.com/lambdakv/lambdakv/jail/lambda"

func main() {
	lambda.Serve(func(*lambda.Args) (*lambda.Response, error) {
		return &lambda.Response{}, nil
	})
}
