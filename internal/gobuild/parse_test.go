package gobuild

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`-trimpath "$WORK/b001=>" -p fmt`, []string{"-trimpath", "$WORK/b001=>", "-p", "fmt"}},
		{`GOROOT='/usr/local/go' link -o x`, []string{"GOROOT=/usr/local/go", "link", "-o", "x"}},
		{`"a b" "tab\there" ""`, []string{"a b", "tab\there", ""}},
	}
	for _, tt := range tests {
		got, err := splitCommand(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`a "b`, `a 'b`} {
		if _, err := splitCommand(bad); err == nil {
			t.Errorf("splitCommand(%q): no error", bad)
		}
	}
}

func TestParseLog_ops(t *testing.T) {
	log := `WORK=/tmp/go-build123
mkdir -p $WORK/b002/
echo -n > $WORK/b002/go_asm.h # internal
echo '# import config' > $WORK/b002/importcfg # internal
cat >/tmp/go-build123/b002/importcfg << 'EOF' # internal
# import config
packagefile a=/tmp/go-build123/b003/_pkg_.a
EOF
cat >/tmp/go-build123/b002/embedcfg << 'EOF' # internal
{
	"Files": {}
}EOF
cd /src/pkg
cp /src/pkg/asm_amd64.h $WORK/b002/asm_GOARCH.h
cp $WORK/b002/_pkg_.a /cache/ab/abc-d # internal
/go/pkg/tool/linux_amd64/asm -p pkg -trimpath "$WORK/b002=>" -I $WORK/b002/ -o $WORK/b002/x.o ./x.s
cd .
GOROOT='/go' /go/pkg/tool/linux_amd64/link -o $WORK/b001/exe/a.out $WORK/b001/_pkg_.a
go tool pack r $WORK/b002/_pkg_.a $WORK/b002/x.o # internal
go tool buildid -w $WORK/b002/_pkg_.a # internal
mv $WORK/b001/exe/a.out hello
`
	got, err := ParseLog([]byte(log), "/mod")
	if err != nil {
		t.Fatal(err)
	}
	want := []Op{
		{Line: 3, Dir: "/mod", Write: "$WORK/b002/go_asm.h"},
		{Line: 4, Dir: "/mod", Write: "$WORK/b002/importcfg", Data: []byte("# import config\n")},
		{Line: 8, Dir: "/mod", Write: "$WORK/b002/importcfg", Data: []byte("# import config\npackagefile a=$WORK/b003/_pkg_.a\n")},
		{Line: 12, Dir: "/mod", Write: "$WORK/b002/embedcfg", Data: []byte("{\n\t\"Files\": {}\n}")},
		{Line: 14, Dir: "/src/pkg", Write: "$WORK/b002/asm_GOARCH.h", CopyFrom: "/src/pkg/asm_amd64.h"},
		{Line: 16, Dir: "/src/pkg", Tool: "asm", Args: strings.Fields("-p pkg -trimpath $WORK/b002=> -I $WORK/b002/ -o $WORK/b002/x.o ./x.s")},
		{Line: 18, Dir: "/mod", Tool: "link", Env: []string{"GOROOT=/go"}, Args: strings.Fields("-o $WORK/b001/exe/a.out $WORK/b001/_pkg_.a")},
		{Line: 19, Dir: "/mod", Tool: "pack", Args: strings.Fields("r $WORK/b002/_pkg_.a $WORK/b002/x.o")},
		{Line: 20, Dir: "/mod", Tool: "buildid", Args: strings.Fields("-w $WORK/b002/_pkg_.a")},
	}
	if len(got.Ops) != len(want) {
		t.Fatalf("%d ops; want %d: %+v", len(got.Ops), len(want), got.Ops)
	}
	for i := range want {
		if !reflect.DeepEqual(got.Ops[i], want[i]) {
			t.Errorf("op %d = %+v\nwant %+v", i, got.Ops[i], want[i])
		}
	}
}

func TestParseLog_refuses(t *testing.T) {
	tests := []struct{ name, log, want string }{
		{"cgo", "cd /x\n/go/pkg/tool/linux_amd64/cgo -objdir $WORK/b001/ x.go\n", "CGO_ENABLED=0"},
		{"gcc", "gcc -c x.c -o $WORK/b001/x.o\n", "CGO_ENABLED=0"},
		{"unknown", "frobnicate $WORK/b001\n", "unsupported command"},
		{"open heredoc", "cat >$WORK/b001/importcfg << 'EOF' # internal\n# import config\n", "not closed"},
		{"write outside", "echo -n > /etc/passwd # internal\n", "outside $WORK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLog([]byte(tt.log), "/mod")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want one containing %q", err, tt.want)
			}
		})
	}
}
