package v1alpha1

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestReasonsAreDistinct reads every Reason constant declared in this package's
// source, so a reason added later is checked too: two constants with one value would
// make a condition or event ambiguous about which step of which kind it reports.
func TestReasonsAreDistinct(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	byValue := map[string]string{}
	count := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "Reason" {
					continue
				}
				if len(vs.Values) != len(vs.Names) {
					t.Fatalf("%s: Reason constants %v without one value each: give each its own string literal", fset.Position(vs.Pos()), vs.Names)
				}
				for i, id := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal, which this test cannot check", fset.Position(id.Pos()), id.Name)
					}
					value, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					count++
					if other, dup := byValue[value]; dup {
						t.Errorf("%s and %s both have the value %q", other, id.Name, value)
						continue
					}
					byValue[value] = id.Name
				}
			}
		}
	}
	// The package declares far more; finding few means the parsing above missed them.
	if count < 50 {
		t.Fatalf("found only %d Reason constants", count)
	}
}
