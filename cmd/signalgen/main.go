// Command signalgen generates typed senders, payload structs and a static
// dispatch table from //signal: directives. See package
// github.com/reliablesignals/signals/generator for the directive
// reference.
//
// Usage:
//
//	signalgen [flags] [packages]
//
// Packages are go list patterns; the default is the whole module that the
// working directory is in, which is nearly always what you want: the
// dispatch table and the senders of implicit signals are built from every
// receiver of the module, and patterns that leave out a package with
// directives are an error (unless -signals and -dispatch are given, for a
// separate table of a part of the module). Run it from go generate, in any
// package of the module:
//
//	//go:generate go run github.com/reliablesignals/signals/cmd/signalgen
//
// or, after go get -tool github.com/reliablesignals/signals/cmd/signalgen,
// as go tool signalgen.
//
// Flags:
//
//	-check          do not write; print a diff of what would change and exit 1
//	                if the generated code is stale
//	-signals DIR    directory of the generated package of implicit signals
//	                (default: signals in the main module's root)
//	-dispatch DIR   directory of the generated dispatch package
//	                (default: signals/dispatch in the main module's root)
//	-tags LIST      comma-separated build tags used to load the packages
//	-accept-breaking  record a new payload contract even when it breaks
//	                tasks already queued, and print what it accepted
//	-graph[=FORMAT] do not write; print the signal graph (who sends each signal,
//	                who receives it) as a Mermaid flowchart, or in Graphviz DOT
//	                with -graph=dot; loops of signals are reported on stderr
//	-graph-into FILE  keep the Mermaid graph in the Markdown FILE up to date
//	                (between the marker lines that signalgen -graph documents),
//	                written and checked like the generated code
//	-v              list the files written and removed, and the compatible
//	                changes of the payload contract
//
// Exit status: 0 success (with -check: up to date); 1 errors in the input,
// printed as file:line:col: message (with -check: stale); 2 usage errors
// (with -check: any error). Warnings, printed as file:line:col: warning:
// message (an implicit signal that nothing sends), leave the exit status
// alone, with -check too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/reliablesignals/signals/generator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: signalgen [flags] [packages]

signalgen generates typed senders, payload structs and a static dispatch
table from //signal:receiver and //signal:define directives. Packages are
go list patterns (default: the whole module of the working directory).

Flags:
`

// run is the command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	logger := log.New(stderr, "signalgen: ", 0)
	fs := flag.NewFlagSet("signalgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "do not write; print a diff of what would change, exit 1 if stale")
	signalsDir := fs.String("signals", "", "`dir`ectory of the generated package of implicit signals (default: signals in the module root)")
	dispatchDir := fs.String("dispatch", "", "`dir`ectory of the generated dispatch package (default: signals/dispatch in the module root)")
	tags := fs.String("tags", "", "comma-separated build `tags` used to load the packages")
	verbose := fs.Bool("v", false, "list the files written and removed, and the compatible contract changes")
	var graph graphFlag
	fs.Var(&graph, "graph", "do not write; print the signal graph as a Mermaid flowchart (-graph) or in DOT (-graph=dot)")
	graphInto := fs.String("graph-into", "", "keep the Mermaid signal graph in Markdown `file` up to date, between its marker lines")
	acceptBreaking := fs.Bool("accept-breaking", false, "record a payload contract that breaks tasks already queued, and print what was accepted")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for _, p := range fs.Args() {
		if strings.HasPrefix(p, "-") {
			logger.Printf("flag %s after the package patterns; flags come first", p)
			fs.Usage()
			return 2
		}
	}
	failed := 1 // exit status of an error
	if *check {
		failed = 2
	}
	dir, err := os.Getwd()
	if err != nil {
		logger.Print(err)
		return failed
	}
	cfg := generator.Config{
		Dir:         dir,
		Patterns:    fs.Args(),
		SignalsDir:  *signalsDir,
		DispatchDir: *dispatchDir,

		AcceptBreaking: *acceptBreaking,
		GraphInto:      *graphInto,
	}
	if graph != "" {
		out, cycles, diags, err := generator.Graph(ctx, cfg, string(graph))
		if err != nil {
			logger.Print(err)
			return 2
		}
		if len(diags) > 0 {
			printDiagnostics(logger, stderr, diags)
			return 1
		}
		stdout.Write(out)
		for _, c := range cycles {
			logger.Print(c)
		}
		return 0
	}
	var changes []generator.Change
	cfg.Changes = func(cs []generator.Change) { changes = cs }
	var warnings []generator.Diagnostic
	cfg.Warnings = func(ws []generator.Diagnostic) { warnings = ws }
	if *tags != "" {
		cfg.Tags = strings.Split(*tags, ",")
	}
	files, diags, err := generator.Generate(ctx, cfg)
	if err != nil {
		logger.Print(err)
		return failed
	}
	if len(diags) > 0 {
		printDiagnostics(logger, stderr, diags)
		return failed
	}
	// Warnings do not change the exit status, with -check neither.
	printDiagnostics(logger, stderr, warnings)
	if *check {
		diff, err := generator.Diff(dir, files)
		if err != nil {
			logger.Print(err)
			return failed
		}
		if len(diff) > 0 {
			stdout.Write(diff)
			logger.Print("generated code is stale; run go generate (or signalgen) and commit the result")
			return 1
		}
		return 0
	}
	for _, c := range changes {
		switch {
		case c.Breaking:
			fmt.Fprintf(stderr, "%s (accepted)\n", c.String())
		case *verbose:
			fmt.Fprintf(stderr, "%s (compatible)\n", c.String())
		}
	}
	changed, err := generator.Write(files)
	if err != nil {
		logger.Print(err)
		return failed
	}
	if *verbose {
		for _, path := range changed {
			if r, err := filepath.Rel(dir, path); err == nil {
				path = r
			}
			logger.Printf("updated %s", path)
		}
	}
	return 0
}

// printDiagnostics prints diagnostics as file:line:col: message (warnings
// as file:line:col: warning: message), and those without a position with
// the log prefix.
func printDiagnostics(logger *log.Logger, stderr io.Writer, diags []generator.Diagnostic) {
	for _, d := range diags {
		if !d.Pos.IsValid() {
			logger.Print(d)
			continue
		}
		fmt.Fprintln(stderr, d)
	}
}

// graphFlag is -graph: a format, "mermaid" when given without one.
type graphFlag string

func (g *graphFlag) String() string { return string(*g) }

func (g *graphFlag) Set(v string) error {
	switch v {
	case "true", generator.GraphMermaid:
		*g = generator.GraphMermaid
	case generator.GraphDOT:
		*g = generator.GraphDOT
	default:
		return fmt.Errorf("unknown graph format %q; valid formats are dot and mermaid", v)
	}
	return nil
}

// IsBoolFlag lets -graph stand alone.
func (g *graphFlag) IsBoolFlag() bool { return true }
