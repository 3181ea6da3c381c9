package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/secret"
)

func init() {
	register(func(g *globals) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "encryption",
			Short: "Encryption at rest of passwords, client secrets and access keys",
		}
		cmd.AddCommand(&cobra.Command{
			Use:   "enable",
			Short: "Enable encryption (creates the key file when needed) and encrypt every secret stored in clear",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				env, err := openSetupEnv(cmd.Context(), g)
				if err != nil {
					return err
				}
				defer env.Close()
				rep, err := env.box.Enable(cmd.Context())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if rep.KeyCreated {
					fmt.Fprintf(out, "Created the encryption key file %s (mode 0600). Back it up: without it the secrets cannot be read.\n", env.box.KeyPath())
				}
				fmt.Fprintf(out, "Encryption is enabled with key %s from the %s; %d secret(s) encrypted now, %d stored.\n",
					rep.KeyID, rep.KeySource, rep.Reencrypted, rep.Secrets)
				return nil
			},
		})
		var asJSON bool
		status := &cobra.Command{
			Use:   "status",
			Short: "Show whether secrets are encrypted, under which key, and any warning",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				env, err := openSetupEnv(cmd.Context(), g)
				if err != nil {
					return err
				}
				defer env.Close()
				st, err := env.box.Status(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(statusJSON(st))
				}
				printEncryptionStatus(cmd.OutOrStdout(), st)
				return nil
			},
		}
		status.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
		cmd.AddCommand(status)
		cmd.AddCommand(&cobra.Command{
			Use:   "rotate",
			Short: "Re-encrypt every secret under a new key, without stopping running instances",
			Long: "With the key file, a new key is added first (running instances pick it up), every secret is\n" +
				"re-encrypted, then the old key is removed. With COUPLER_ENCRYPTION_KEY, set the new key there and\n" +
				"the old one in COUPLER_ENCRYPTION_OLD_KEYS, then run rotate.",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				env, err := openSetupEnv(cmd.Context(), g)
				if err != nil {
					return err
				}
				defer env.Close()
				rep, err := env.box.Rotate(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Rotated: %d secret(s) re-encrypted under key %s (%s).\n", rep.Reencrypted, rep.KeyID, rep.KeySource)
				return nil
			},
		})
		return cmd
	})
}

func statusJSON(st secret.Status) map[string]any {
	state := string(st.State)
	if state == "" {
		state = "not enabled"
	}
	return map[string]any{"state": state, "key_source": st.KeySource, "current_key_id": st.CurrentKeyID,
		"key_ids": st.KeyIDs, "secrets": st.Secrets, "plaintext": st.Plaintext, "under_old_keys": st.UnderOldKeys, "warning": st.Warning}
}

func printEncryptionStatus(w io.Writer, st secret.Status) {
	state := string(st.State)
	if state == "" {
		state = "not enabled"
	}
	fmt.Fprintf(w, "Encryption:      %s\n", state)
	if st.KeySource != "" {
		fmt.Fprintf(w, "Key:             %s (%s)\n", st.CurrentKeyID, st.KeySource)
		if len(st.KeyIDs) > 1 {
			fmt.Fprintf(w, "Old keys kept:   %s (a rotation is in progress or was interrupted)\n", strings.Join(st.KeyIDs[1:], ", "))
		}
	}
	fmt.Fprintf(w, "Secrets stored:  %d (%d in clear text, %d under an old key)\n", st.Secrets, st.Plaintext, st.UnderOldKeys)
	if st.Warning != "" {
		fmt.Fprintln(w, st.Warning)
	}
}
