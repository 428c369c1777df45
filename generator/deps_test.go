package generator_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the dependencies pointing one way: the
// runtime (what users link into their programs) imports neither the
// generator's libraries nor the generator; the generator and its command
// do not import the runtime (they only write code that does); OpenTelemetry
// comes in only with package otelsignal, and its SDK only in tests; the
// core runtime imports none of the packages built on it (dashboard,
// otelsignal, signaltest), nor net/http or testing.
func TestDependencyDirection(t *testing.T) {
	t.Parallel()
	deps := func(pkgs ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", pkgs, err)
		}
		return strings.Fields(string(out))
	}
	for _, tt := range []struct {
		pkgs      []string
		forbidden []string
	}{
		{
			pkgs:      []string{"github.com/reliablesignals/signals/runtime/..."},
			forbidden: []string{"golang.org/x/tools", "github.com/dave/jennifer", "github.com/reliablesignals/signals/generator"},
		},
		{
			// A program that does not import otelsignal links no
			// OpenTelemetry, and only otelsignal's tests link the SDK.
			pkgs: []string{"github.com/reliablesignals/signals/runtime", "github.com/reliablesignals/signals/runtime/dashboard",
				"github.com/reliablesignals/signals/cmd/signalctl"},
			forbidden: []string{"go.opentelemetry.io"},
		},
		{
			pkgs:      []string{"github.com/reliablesignals/signals/runtime/otelsignal"},
			forbidden: []string{"go.opentelemetry.io/otel/sdk"},
		},
		{
			pkgs:      []string{"github.com/reliablesignals/signals/generator/...", "github.com/reliablesignals/signals/cmd/signalgen"},
			forbidden: []string{"github.com/reliablesignals/signals/runtime", "github.com/jackc/pgx"},
		},
		{
			// The core runtime is a library of its own: its dashboard,
			// telemetry and test helpers build on it, never the other way.
			pkgs: []string{"github.com/reliablesignals/signals/runtime"},
			forbidden: []string{"github.com/reliablesignals/signals/runtime/dashboard", "github.com/reliablesignals/signals/runtime/otelsignal",
				"github.com/reliablesignals/signals/runtime/signaltest", "github.com/reliablesignals/signals/internal", "net/http", "testing"},
		},
		{
			// Users' test binaries link signaltest: no browser, no dashboard.
			pkgs: []string{"github.com/reliablesignals/signals/runtime/signaltest"},
			forbidden: []string{"github.com/reliablesignals/signals/runtime/dashboard", "github.com/chromedp",
				"github.com/reliablesignals/signals/internal/pgtest"},
		},
		{
			// The throwaway server needs pgx alone.
			pkgs:      []string{"github.com/reliablesignals/signals/internal/pgtemp"},
			forbidden: []string{"github.com/reliablesignals/signals/runtime"},
		},
	} {
		for _, dep := range deps(tt.pkgs...) {
			for _, f := range tt.forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%v imports %s (through go list -deps); it must not depend on %s", tt.pkgs, dep, f)
				}
			}
		}
	}
}
