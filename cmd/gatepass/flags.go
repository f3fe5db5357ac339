package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlags is the flag set of one command: synopsis is its usage text,
// printed with every flag by --help.
func newFlags(name, synopsis string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package's own messages are dropped: parse returns its
	// error with a pointer to --help, and main prints it once.
	fs.SetOutput(io.Discard)
	return &command{FlagSet: fs, synopsis: synopsis}
}

// command is a command's flags and its usage text.
type command struct {
	*flag.FlagSet
	synopsis string
}

// parse reads args, where flags may come before, between or after the
// positional arguments (`token verify TOKEN --issuer I`); "--" ends the
// flags. -h, -help and --help print the usage to stdout and return
// flag.ErrHelp, which main turns into exit 0. Afterwards Args are the
// positional arguments.
func (c *command) parse(args []string, stdout io.Writer) error {
	flags, positional, help := c.split(args)
	if help {
		c.usage(stdout)
		return flag.ErrHelp
	}
	if err := c.Parse(flags); err != nil {
		return fmt.Errorf("%s: %w (see gatepass %s --help)", c.Name(), err, c.Name())
	}
	// A second Parse of "--" and the positional arguments sets no flag
	// and leaves them, even those starting with "-", as Args.
	return c.Parse(append([]string{"--"}, positional...))
}

// split sorts args into flags (with their values) and positional
// arguments, and reports whether help was asked for. A flag that is not
// a boolean takes the next argument as its value unless it is written
// --name=value; an unknown flag is left to Parse to refuse.
func (c *command) split(args []string) (flags, positional []string, help bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...), help
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f := c.Lookup(name)
		switch {
		case f == nil:
			help = help || name == "h" || name == "help"
		case hasValue || isBool(f):
		case i+1 < len(args):
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional, help
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// usage prints the synopsis and every flag with its default.
func (c *command) usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(c.synopsis)
	b.WriteString("\nFlags:\n")
	c.VisitAll(func(f *flag.Flag) {
		arg, text := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if arg != "" {
			name += " " + strings.ToUpper(arg)
		}
		fmt.Fprintf(&b, "  %-22s %s", name, text)
		if !isZeroDefault(f) {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	fmt.Fprintf(&b, "  %-22s %s\n", "-h, --help", "show this help")
	io.WriteString(w, b.String())
}

func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "0s", "false":
		return true
	}
	return false
}
