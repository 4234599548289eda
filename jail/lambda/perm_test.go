package lambda_test

import (
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

func TestPerm_String(t *testing.T) {
	for _, tt := range []struct {
		p    lambda.Perm
		want string
	}{
		{0, "-"},
		{lambda.R, "r"},
		{lambda.RW, "rw"},
		{lambda.RX, "rx"},
		{lambda.RWX, "rwx"},
		{lambda.W | lambda.X, "wx"},
		{8, "Perm(8)"},
		{255, "Perm(255)"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Perm(%d).String() = %q; want %q", uint8(tt.p), got, tt.want)
		}
	}
}

func TestPerm_wireValues(t *testing.T) {
	// DESIGN §3 fixes these bits; clients in other languages depend on them.
	if lambda.R != 1 || lambda.W != 2 || lambda.X != 4 {
		t.Errorf("R, W, X = %d, %d, %d; want 1, 2, 4", lambda.R, lambda.W, lambda.X)
	}
}
