package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/backup"
)

func init() {
	register(func(g *globals) *cobra.Command {
		var to string
		cmd := &cobra.Command{
			Use:   "backup --to FILE",
			Short: "Write a consistent snapshot of the SQLite database and the encryption key file into one archive (safe while coupler runs)",
			Long: "Writes a gzip'd tar archive (mode 0600: it holds the key) with a snapshot of coupler.db taken by\n" +
				"SQLite's VACUUM INTO while coupler runs, and encryption.key. For PostgreSQL use pg_dump (see docs/operations.md).",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				res, err := backup.Backup(cmd.Context(), backup.Options{DataDir: g.cfg.DataDir, DatabaseURL: g.cfg.DatabaseURL, Logger: g.log}, to)
				if err != nil {
					return err
				}
				printBackup(cmd, "Backed up", res)
				return nil
			},
		}
		cmd.Flags().StringVar(&to, "to", "", "archive file to write")
		return cmd
	})
	register(func(g *globals) *cobra.Command {
		var from string
		cmd := &cobra.Command{
			Use:   "restore --from FILE",
			Short: "Put the database and key of a `coupler backup` archive into the data dir (stop coupler first)",
			Long: "Checks the archive's database, moves the current coupler.db (and -wal, -shm, encryption.key) aside\n" +
				"with the suffix .before-restore-TIMESTAMP, and puts the archive's files in place.",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				res, err := backup.Restore(cmd.Context(), backup.Options{DataDir: g.cfg.DataDir, DatabaseURL: g.cfg.DatabaseURL, Logger: g.log}, from)
				if err != nil {
					return err
				}
				printBackup(cmd, "Restored", res)
				if res.MovedTo != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "The previous database is kept at %s.\n", res.MovedTo)
				}
				return nil
			},
		}
		cmd.Flags().StringVar(&from, "from", "", "archive file written by coupler backup")
		return cmd
	})
}

func printBackup(cmd *cobra.Command, verb string, res backup.Result) {
	m := res.Manifest
	key := "with the encryption key"
	if !m.KeyFile {
		key = "without a key file (" + m.KeyNote + ")"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s: database of %d bytes taken at %s, %s.\n", verb, res.Path, m.DBBytes, m.CreatedAt.Format("2006-01-02 15:04:05Z"), key)
}
