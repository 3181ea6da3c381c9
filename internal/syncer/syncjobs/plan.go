package syncjobs

import (
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// unit is one mapping job of a round: a mapping, run with its line
// mappings as Engine.Run runs them, after the units it depends on.
type unit struct {
	Mapping string   `json:"mapping"`
	After   []string `json:"after,omitempty"`
	// Job is the River job of this round's run, once queued.
	Job int64 `json:"job,omitempty"`
	// Done is that job's final River state, once finished.
	Done string `json:"done,omitempty"`
}

// plan splits a run of names (every enabled mapping when empty) into the
// units Engine.Run would run, in its dependency order, each after the units
// of this round it depends on (its DependsOn, its parent and its lookups,
// and those of its line mappings, as mapping.Order counts them). Names
// outside the round are not waited for.
func plan(all []mapping.TableMapping, names []string) ([]unit, error) {
	ordered, err := mapping.Order(all)
	if err != nil {
		return nil, err
	}
	want, err := syncer.Wanted(ordered, names)
	if err != nil {
		return nil, err
	}
	// unitOf is the unit a mapping of the round runs in.
	unitOf := map[string]string{}
	var tops []*mapping.TableMapping
	for i := range ordered {
		m := &ordered[i]
		switch {
		case len(want) == 0 && (m.Disabled || m.Parent != ""):
			continue
		case len(want) > 0 && !want[m.Name]:
			continue
		case m.Parent != "" && want[m.Parent]:
			continue // runs with its header
		}
		unitOf[m.Name] = m.Name
		tops = append(tops, m)
	}
	for _, m := range ordered {
		if m.Parent == "" || unitOf[m.Name] != "" {
			continue
		}
		if unitOf[m.Parent] == m.Parent {
			unitOf[m.Name] = m.Parent
		}
	}
	out := make([]unit, 0, len(tops))
	for _, m := range tops {
		after := map[string]bool{}
		for _, member := range ordered {
			if unitOf[member.Name] != m.Name {
				continue
			}
			for _, d := range dependencies(member) {
				if u, ok := unitOf[d]; ok && u != m.Name {
					after[u] = true
				}
			}
		}
		u := unit{Mapping: m.Name}
		for _, t := range tops { // in dependency order
			if after[t.Name] {
				u.After = append(u.After, t.Name)
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// dependencies are what mapping.Order puts a mapping after.
func dependencies(m mapping.TableMapping) []string {
	ds := append([]string{}, m.DependsOn...)
	if m.Parent != "" {
		ds = append(ds, m.Parent)
	}
	for _, fm := range m.Fields {
		if fm.Lookup != nil && fm.Lookup.Mapping != m.Name {
			ds = append(ds, fm.Lookup.Mapping)
		}
	}
	return ds
}
