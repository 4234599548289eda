// Command sleeper is a test lambda: it sleeps for the duration given as
// its first argument, then answers "slept" and stores the key given as its
// second argument, if any.
package main

import (
	"time"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

func main() {
	lambda.Serve(func(a *lambda.Args) (*lambda.Response, error) {
		d, err := time.ParseDuration(a.Arg(0))
		if err != nil {
			return nil, err
		}
		time.Sleep(d)
		resp := &lambda.Response{Output: []byte("slept")}
		if k := a.Arg(1); k != "" {
			resp.AddPut(k, []byte("done"), lambda.R)
		}
		return resp, nil
	})
}
