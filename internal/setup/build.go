package setup

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// FieldKeys lists every field key, sorted.
func FieldKeys() []string {
	var out []string
	for _, f := range Fields() {
		out = append(out, f.Key)
	}
	sort.Strings(out)
	return out
}

// NewDraft starts a draft for the named connection.
func NewDraft(name, publicURL string, existing map[string]bool) *Draft {
	if name == "" {
		name = DefaultName
	}
	if existing == nil {
		existing = map[string]bool{}
	}
	return &Draft{Setup: ConnectionSetup{Name: name}, Secrets: map[string]string{}, PublicURL: publicURL, Existing: existing}
}

// DefaultName is the connection's name when only one company is connected.
const DefaultName = "default"

// Build validates answers field by field, in order, and returns the draft
// or every bad value (joined FieldErrors, in field order).
func Build(answers Answers, d *Draft) (*Draft, error) {
	fields := Fields()
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Key] = true
	}
	var errs []error
	for k := range answers {
		if !known[k] {
			errs = append(errs, &FieldError{Field: k, Problem: "is not a setup field", Fix: "use one of " + strings.Join(FieldKeys(), ", ")})
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	failedStep := map[string]bool{}
	for _, f := range fields {
		v, given := answers[f.Key]
		if failedStep[f.Step] {
			// Later answers of a step depend on earlier ones (the user
			// name's format on the auth type…): one message per step
			// avoids a cascade of consequences of the same mistake.
			continue
		}
		if !f.Applies(d) {
			if given && v != "" {
				d.Ignored = append(d.Ignored, f.Key)
			}
			continue
		}
		if strings.TrimSpace(v) == "" && f.Default != nil {
			v = f.Default(d)
		}
		if _, err := f.Apply(d, v); err != nil {
			errs = append(errs, err)
			failedStep[f.Step] = true
		}
	}
	if len(errs) > 0 {
		return d, joinErrors(errs)
	}
	return d, nil
}

// FieldErrors is every bad value of a setup; Error lists them one a line.
type FieldErrors []error

func (fe FieldErrors) Error() string {
	var b strings.Builder
	for i, e := range fe {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each *FieldError.
func (fe FieldErrors) Unwrap() []error { return fe }

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return FieldErrors(errs)
}

// String shows a field's value for a summary; secrets are never shown.
func (f Field) String() string { return fmt.Sprintf("%s (--%s)", f.Label, f.Flag()) }
