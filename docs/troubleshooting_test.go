// Package docs_test keeps the documentation true to the code.
package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The rule for "every error message a user can meet" (docs/troubleshooting.md
// states it too):
//
//   - Where: non-test Go files of the packages whose errors reach a user as a
//     command's last line, a setup answer's complaint or a sync error:
//     cmd/coupler, internal/setup, internal/config, internal/secret,
//     internal/users, internal/mapping, internal/syncer (with its
//     sub-packages), internal/demo and internal/orders (whose refusals are
//     listed per CRM order by `coupler orders create` and the web UI).
//   - What: the format string (first argument, a string literal) of
//     errors.New, fmt.Errorf and internal/orders' refusedf, and the Problem
//     of a FieldError or config Error literal (a string literal, or the
//     format of the fmt.Sprintf that builds it).
//   - Left out: wrappers whose format ends in %w (they prefix context to a
//     message documented on its own); messages that are only verbs and
//     punctuation; and programmer errors, whose format starts with the Go
//     package's name and a colon ("syncer: Options.Store is nil").
//   - Matching: every formatting verb (%s, %q, %d, %v, %w, …) becomes "…";
//     the page must contain the result verbatim.
var troubleshootingDirs = []string{"cmd/coupler", "internal/setup", "internal/config", "internal/secret",
	"internal/users", "internal/mapping", "internal/syncer", "internal/demo", "internal/orders"}

var verbRe = regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[vTtbcdoqxXUeEfFgGsp%w]`)

// normalise turns a format into the text the page must contain.
func normalise(format string) string {
	s := verbRe.ReplaceAllStringFunc(format, func(v string) string {
		if v == "%%" {
			return "%"
		}
		return "…"
	})
	return strings.TrimSpace(s)
}

type message struct {
	text, where string
}

func userMessages(t *testing.T, root string) []message {
	t.Helper()
	var out []message
	seen := map[string]bool{}
	add := func(fset *token.FileSet, pkg string, lit ast.Expr) {
		bl, ok := lit.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(bl.Value)
		if err != nil {
			return
		}
		if strings.HasSuffix(strings.TrimSpace(s), "%w") || strings.HasPrefix(s, pkg+": ") {
			return
		}
		n := normalise(s)
		if strings.Trim(n, "…:;,.() \n") == "" || seen[n] {
			return
		}
		seen[n] = true
		pos := fset.Position(bl.Pos())
		rel, _ := filepath.Rel(root, pos.Filename)
		out = append(out, message{text: n, where: rel + ":" + strconv.Itoa(pos.Line)})
	}
	for _, dir := range troubleshootingDirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				return err
			}
			pkg := f.Name.Name
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					if isCall(x, "errors", "New") || isCall(x, "fmt", "Errorf") || isRefusal(x) {
						add(fset, pkg, x.Args[0])
					}
				case *ast.CompositeLit:
					if !isProblemType(x.Type) {
						return true
					}
					for _, el := range x.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Problem" {
							continue
						}
						if c, ok := kv.Value.(*ast.CallExpr); ok && isCall(c, "fmt", "Sprintf") {
							add(fset, pkg, c.Args[0])
						} else {
							add(fset, pkg, kv.Value)
						}
					}
				}
				return true
			})
			return nil
		})
		require.NoError(t, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

func isCall(c *ast.CallExpr, pkg, fn string) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || len(c.Args) == 0 {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg && sel.Sel.Name == fn
}

// isRefusal is a call of internal/orders' refusedf, whose format is the
// message of a CRM order the ERP cannot take.
func isRefusal(c *ast.CallExpr) bool {
	id, ok := c.Fun.(*ast.Ident)
	return ok && id.Name == "refusedf" && len(c.Args) > 0
}

func isProblemType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "FieldError" || x.Name == "Error"
	case *ast.SelectorExpr:
		return x.Sel.Name == "FieldError" || x.Sel.Name == "Error"
	case *ast.UnaryExpr:
		return isProblemType(x.X)
	}
	return false
}

func TestTroubleshootingPageListsEveryUserFacingErrorMessage(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	page, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	require.NoError(t, err)
	text := string(page)
	msgs := userMessages(t, root)
	require.Greater(t, len(msgs), 50, "the extractor finds the messages")
	var missing []string
	for _, m := range msgs {
		if !strings.Contains(text, m.text) {
			missing = append(missing, m.where+": "+m.text)
		}
	}
	require.Empty(t, missing, "add these messages, each with its fix, to docs/troubleshooting.md (%d of %d missing)", len(missing), len(msgs))
}

func TestNormaliseFormats(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"mapping %q does not exist (see coupler mappings list)": "mapping … does not exist (see coupler mappings list)",
		"key file %s line %d: want \"id base64-key\"":           "key file … line …: want \"id base64-key\"",
		"rate %.2f%% used": "rate …% used",
		"100%% done":       "100% done",
	} {
		require.Equal(t, want, normalise(in), in)
	}
}
