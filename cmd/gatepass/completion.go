package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// completionShells are the shells `gatepass completion` writes for.
var completionShells = []string{"bash", "zsh"}

const completionUsage = `Usage:
  gatepass completion bash|zsh

Prints a script that completes gatepass's commands, subcommands and flags.
Load it in the current shell, or from ~/.bashrc or ~/.zshrc:
  source <(gatepass completion bash)
  source <(gatepass completion zsh)
or save the bash one as /etc/bash_completion.d/gatepass.
`

func runCompletion(args []string, stdout, stderr io.Writer) error {
	c := newFlags("completion", completionUsage)
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.NArg() != 1 {
		fmt.Fprint(stderr, completionUsage)
		return fmt.Errorf("completion: name one shell: %s", strings.Join(completionShells, " or "))
	}
	script, err := completionScript(c.Arg(0))
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, script)
	return err
}

// completionScript is the completion script of shell, made from the
// command table and each command's own flags. zsh runs the bash script
// through its bashcompinit, as it offers for that purpose.
func completionScript(shell string) (string, error) {
	switch shell {
	case "bash":
		return bashCompletion(), nil
	case "zsh":
		return "#compdef gatepass\n# zsh completion for gatepass: source <(gatepass completion zsh)\n" +
			"(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }\nautoload -U +X bashcompinit && bashcompinit\n" + bashCompletion(), nil
	default:
		return "", fmt.Errorf("completion: no script for %q; choose %s", shell, strings.Join(completionShells, " or "))
	}
}

// bashCompletion completes the command in the first word, a group's
// subcommand in the second, and a command's flags wherever a word begins
// with "-"; anything else is left to file names.
func bashCompletion() string {
	var b strings.Builder
	b.WriteString(`# bash completion for gatepass: source <(gatepass completion bash)
_gatepass() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} sub=${COMP_WORDS[2]} words=""
    if [[ $COMP_CWORD -eq 1 ]]; then
        words="` + strings.Join(commandNames(), " ") + ` --help --version"
    elif [[ $cur == -* ]]; then
        case "$cmd $sub" in
`)
	for _, c := range commands {
		// A subcommand's own flags first: bash takes the first pattern
		// that matches, and the command's own pattern matches them all.
		for _, s := range c.subs {
			fmt.Fprintf(&b, "            %q) words=%q ;;\n", c.name+" "+s, strings.Join(commandFlags([]string{c.name, s}), " "))
		}
		fmt.Fprintf(&b, "            %s\\ *) words=%q ;;\n", c.name, strings.Join(commandFlags([]string{c.name}), " "))
	}
	b.WriteString(`        esac
    elif [[ $COMP_CWORD -eq 2 ]]; then
        case "$cmd" in
`)
	for _, c := range commands {
		if len(c.subs) > 0 {
			fmt.Fprintf(&b, "            %s) words=%q ;;\n", c.name, strings.Join(c.subs, " "))
		}
	}
	fmt.Fprintf(&b, "            help) words=%q ;;\n", strings.Join(commandNames(), " "))
	b.WriteString(`        esac
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _gatepass gatepass
`)
	return b.String()
}

// commandFlags are the flags of the command at path, as its --help lists
// them: read from the command itself, so the completion never lists a
// flag it does not have.
func commandFlags(path []string) []string {
	var out bytes.Buffer
	_ = run(context.Background(), append(slices.Clone(path), "--help"), strings.NewReader(""), &out, io.Discard)
	flags := []string{"--help"}
	sc := bufio.NewScanner(&out)
	inFlags := false
	for sc.Scan() {
		line := sc.Text()
		if line == "Flags:" {
			inFlags = true
			continue
		}
		if f, ok := strings.CutPrefix(line, "  --"); ok && inFlags {
			name, _, _ := strings.Cut(f, " ")
			if name != "help" && !slices.Contains(flags, "--"+name) {
				flags = append(flags, "--"+name)
			}
		}
	}
	return flags
}
