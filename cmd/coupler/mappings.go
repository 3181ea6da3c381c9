package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
)

func findMapping(ms []mapping.TableMapping, name string) (string, error) {
	for _, m := range ms {
		if strings.EqualFold(m.Name, name) {
			return m.Name, nil
		}
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return "", fmt.Errorf("mapping %q does not exist; the mappings are: %s", name, strings.Join(names, ", "))
}

func init() {
	register(func(g *globals) *cobra.Command {
		cmd := &cobra.Command{Use: "mappings", Short: "List, show, edit or reset the table and field mappings"}
		with := func(ctx context.Context, fn func(st store.Store, ms []mapping.TableMapping) error) error {
			env, err := openSetupEnv(ctx, g)
			if err != nil {
				return err
			}
			defer env.Close()
			ms, err := loadMappings(ctx, env.st)
			if err != nil {
				return err
			}
			return fn(env.st, ms)
		}

		var listJSON bool
		list := &cobra.Command{Use: "list", Short: "List the mappings in dependency order", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return with(cmd.Context(), func(_ store.Store, ms []mapping.TableMapping) error {
					ordered, err := mapping.Order(ms)
					if err != nil {
						return err
					}
					out := cmd.OutOrStdout()
					if listJSON {
						return writeJSON(out, ordered)
					}
					tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tERP\tCRM\tDIRECTION\tONLY COUPLED\tCONFLICT\tDELETION\tSCHEDULE\tENABLED")
					for _, m := range ordered {
						erp := m.ERPEntity
						if erp == "" {
							erp = "(" + string(m.Kind) + ")"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\t%v\n", m.Name, erp, m.CRMEntity, m.Direction, m.OnlyCoupled, m.Conflict, m.Deletion, m.Schedule(), !m.Disabled)
					}
					return tw.Flush()
				})
			}}
		list.Flags().BoolVar(&listJSON, "json", false, "print as JSON")

		show := &cobra.Command{Use: "show MAPPING", Short: "Print one mapping as JSON (the form `mappings edit --from-file` reads)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return with(cmd.Context(), func(_ store.Store, ms []mapping.TableMapping) error {
					name, err := findMapping(ms, args[0])
					if err != nil {
						return err
					}
					for _, m := range ms {
						if m.Name == name {
							return writeJSON(cmd.OutOrStdout(), m)
						}
					}
					return nil
				})
			}}

		var fromFile string
		var sets []string
		edit := &cobra.Command{Use: "edit MAPPING", Short: "Change a mapping (--set key=value… or --from-file F); validated before it is saved",
			Long: "Keys for --set: direction, conflict, deletion, interval, erp_filter, crm_filter, only_coupled, skip_after, disabled.\n" +
				"A whole mapping (fields included) can be replaced with --from-file (JSON, as printed by `coupler mappings show`).",
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return with(cmd.Context(), func(st store.Store, ms []mapping.TableMapping) error {
					name, err := findMapping(ms, args[0])
					if err != nil {
						return err
					}
					idx := -1
					for i := range ms {
						if ms[i].Name == name {
							idx = i
						}
					}
					m := ms[idx]
					switch {
					case fromFile != "" && len(sets) > 0:
						return errors.New("use either --from-file or --set, not both")
					case fromFile != "":
						b, err := os.ReadFile(fromFile)
						if err != nil {
							return err
						}
						var nm mapping.TableMapping
						dec := json.NewDecoder(strings.NewReader(string(b)))
						dec.DisallowUnknownFields()
						if err := dec.Decode(&nm); err != nil {
							return fmt.Errorf("%s: %w", fromFile, err)
						}
						if nm.Name != name {
							return fmt.Errorf("%s describes mapping %q, not %q: a mapping cannot be renamed", fromFile, nm.Name, name)
						}
						m = nm
					case len(sets) > 0:
						for _, s := range sets {
							if err := setMappingKey(&m, s); err != nil {
								return err
							}
						}
					default:
						return errors.New("nothing to change: pass --set key=value or --from-file F")
					}
					ms[idx] = m
					if err := mapping.Validate(m, mapping.Catalog); err != nil {
						return err
					}
					if err := mapping.ValidateSet(ms, mapping.Catalog); err != nil {
						return err
					}
					m.UpdatedAt = time.Now().UTC()
					if err := st.PutMapping(cmd.Context(), m); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Mapping %s saved.\n", name)
					return nil
				})
			}}
		edit.Flags().StringVar(&fromFile, "from-file", "", "JSON file with the whole mapping")
		edit.Flags().StringArrayVar(&sets, "set", nil, "key=value to change (repeatable)")

		var yes bool
		reset := &cobra.Command{Use: "reset", Short: "Use the default synchronisation setup: recreate the default mappings (custom changes are lost)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if !yes {
					fmt.Fprint(cmd.ErrOrStderr(), "Custom mappings and changes will be lost and the default mappings recreated. Continue? [y/N] ")
					line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
					if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
						return errors.New("reset cancelled: nothing changed (pass --yes to skip this question)")
					}
				}
				env, err := openSetupEnv(cmd.Context(), g)
				if err != nil {
					return err
				}
				defer env.Close()
				ctx := cmd.Context()
				return env.st.InTx(ctx, func(ctx context.Context, tx store.Store) error {
					old, err := tx.ListMappings(ctx)
					if err != nil {
						return err
					}
					for _, m := range old {
						if err := tx.DeleteMapping(ctx, m.Name); err != nil {
							return err
						}
					}
					now := time.Now().UTC()
					for _, m := range mapping.Defaults() {
						m.UpdatedAt = now
						if err := tx.PutMapping(ctx, m); err != nil {
							return err
						}
					}
					fmt.Fprintf(cmd.OutOrStdout(), "The %d default mappings are in place (couplings are kept).\n", len(mapping.Defaults()))
					return nil
				})
			}}
		reset.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
		cmd.AddCommand(list, show, edit, reset)
		return cmd
	})
}

// setMappingKey applies one --set key=value to a mapping.
func setMappingKey(m *mapping.TableMapping, kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("--set %q: write key=value", kv)
	}
	parseBool := func() (bool, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("--set %s: %q is not true or false", k, v)
		}
		return b, nil
	}
	var err error
	switch strings.ToLower(strings.TrimSpace(k)) {
	case "direction":
		m.Direction = mapping.Direction(v)
	case "conflict":
		m.Conflict = mapping.ConflictRule(v)
	case "deletion":
		m.Deletion = mapping.DeletionRule(v)
	case "interval":
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 {
			return fmt.Errorf("--set interval: %q is not a positive duration such as 30m", v)
		}
		m.Interval = mapping.Duration(d)
	case "erp_filter":
		m.ERPFilter = v
	case "crm_filter":
		m.CRMFilter = v
	case "only_coupled":
		m.OnlyCoupled, err = parseBool()
	case "disabled":
		m.Disabled, err = parseBool()
	case "skip_after":
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 {
			return fmt.Errorf("--set skip_after: %q is not a count ≥ 0 (0 = never skip)", v)
		}
		m.SkipAfter = n
	default:
		return fmt.Errorf("--set %s: unknown key; use direction, conflict, deletion, interval, erp_filter, crm_filter, only_coupled, skip_after or disabled (or --from-file for fields)", k)
	}
	return err
}
