package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/coupler/coupler/internal/setup"
)

// prompter asks the questions on a terminal, one answer at a time.
type prompter struct {
	in  io.Reader
	out io.Writer
	fd  int // terminal fd of in, -1 if none
}

func newPrompter(in io.Reader, out io.Writer) *prompter {
	p := &prompter{in: in, out: out, fd: -1}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.fd = int(f.Fd())
	}
	return p
}

func (p *prompter) isTerminal() bool { return p.fd >= 0 }

// errInputEnded is returned when the terminal closes mid-setup.
var errInputEnded = errors.New("input ended before the setup was complete; nothing was saved")

// readLine reads up to a newline one byte at a time, so that nothing past
// the line is consumed (a password read may follow).
func (p *prompter) readLine() (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := p.in.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return strings.TrimRight(string(b), "\r"), nil
			}
			b = append(b, one[0])
			continue
		}
		if err != nil {
			if len(b) > 0 {
				return string(b), nil
			}
			return "", errInputEnded
		}
	}
}

func (p *prompter) readSecret() (string, error) {
	if p.fd < 0 {
		return p.readLine()
	}
	b, err := term.ReadPassword(p.fd)
	fmt.Fprintln(p.out)
	if err != nil {
		return "", errInputEnded
	}
	return string(b), nil
}

func (p *prompter) yesNo(question string, def bool) (bool, error) {
	hint := "[y/N]"
	if def {
		hint = "[Y/n]"
	}
	for range 20 {
		fmt.Fprintf(p.out, "%s %s: ", question, hint)
		v, err := p.readLine()
		if err != nil {
			return false, err
		}
		if strings.TrimSpace(v) == "" {
			return def, nil
		}
		b, err := setup.ParseBool("answer", v)
		if err == nil {
			return b, nil
		}
		fmt.Fprintln(p.out, "  Please answer yes or no.")
	}
	return false, errors.New("too many invalid answers")
}

// guide asks every field that applies, validating each answer as it is
// given and asking again, with the reason, until it is right.
func (p *prompter) guide(d *setup.Draft, prefill setup.Answers) error {
	fields := setup.Fields()
	var allowInsecure setup.Field
	for _, f := range fields {
		if f.Key == "allow-insecure" {
			allowInsecure = f
		}
	}
	if v := prefill["allow-insecure"]; v != "" {
		if _, err := allowInsecure.Apply(d, v); err != nil {
			return err
		}
	}
	step := ""
	steps := map[string]int{"CRM": 1, "ERP": 2, "Advanced": 3}
	for _, f := range fields {
		if f.OnDemand || f.Key == "allow-insecure" || !f.Applies(d) {
			continue
		}
		if f.Step != step {
			step = f.Step
			fmt.Fprintf(p.out, "\nStep %d of 3: %s\n", steps[step], step)
		}
		if err := p.askField(f, d, prefill, allowInsecure); err != nil {
			return err
		}
	}
	return nil
}

func (p *prompter) askField(f setup.Field, d *setup.Draft, prefill setup.Answers, allowInsecure setup.Field) error {
	if v := prefill[f.Key]; f.Secret && v != "" {
		if _, err := f.Apply(d, v); err == nil {
			fmt.Fprintf(p.out, "%s: taken from %s\n", f.Label, secretEnv(f))
			return nil
		}
	}
	for attempt := 0; attempt < 20; attempt++ {
		def := prefill[f.Key]
		if def == "" && f.Default != nil {
			def = f.Default(d)
		}
		if f.Help != "" && attempt == 0 {
			fmt.Fprintf(p.out, "  %s\n", f.Help)
		}
		var v string
		var err error
		switch {
		case f.Secret:
			hint := ""
			if d.Existing[f.SecretName] {
				hint = " [keep current]"
			}
			fmt.Fprintf(p.out, "%s%s: ", f.Label, hint)
			v, err = p.readSecret()
		case f.Bool:
			b, _ := setup.ParseBool(f.Key, def)
			var yes bool
			yes, err = p.yesNo(f.Label+"?", b)
			v = map[bool]string{true: "yes", false: "no"}[yes]
		default:
			if def != "" {
				fmt.Fprintf(p.out, "%s [%s]: ", f.Label, def)
			} else {
				fmt.Fprintf(p.out, "%s: ", f.Label)
			}
			v, err = p.readLine()
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(v) == "" && !f.Secret {
			v = def
		}
		shown, aerr := f.Apply(d, v)
		if errors.Is(aerr, setup.ErrInsecureURL) {
			fmt.Fprintf(p.out, "  %v\n", aerr)
			ok, err := p.yesNo("Allow plain http? Only for a local sandbox: credentials would travel unencrypted", false)
			if err != nil {
				return err
			}
			if ok {
				if _, err := allowInsecure.Apply(d, "yes"); err != nil {
					return err
				}
				shown, aerr = f.Apply(d, v)
			}
		}
		if aerr != nil {
			if !errors.Is(aerr, setup.ErrInsecureURL) {
				fmt.Fprintf(p.out, "  ✗ %v\n", aerr)
			}
			continue
		}
		if !f.Secret && !f.Bool && shown != strings.TrimSpace(v) && shown != "" {
			fmt.Fprintf(p.out, "  → corrected to %s\n", shown)
		}
		return nil
	}
	return fmt.Errorf("%s: too many invalid answers", f.Key)
}
