package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// maxMember bounds what Restore unpacks from one member, so that a hostile
// or damaged archive cannot fill the disk (64 GiB: far above any coupler.db).
const maxMember = 64 << 30

// Restore puts the database and key of the archive at from into the data
// dir. coupler must be stopped. The database is checked (SQLite integrity
// check) before anything is replaced; an existing database (with its -wal
// and -shm files) and key file are moved aside with the suffix
// ".before-restore-TIMESTAMP", never deleted.
func Restore(ctx context.Context, opts Options, from string) (Result, error) {
	if err := opts.check("restore"); err != nil {
		return Result{}, err
	}
	if from == "" {
		return Result{}, errors.New("restore: no archive file given: use --from FILE")
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return Result{}, fmt.Errorf("restore: create the data dir: %w", err)
	}
	tmpDir, err := os.MkdirTemp(opts.DataDir, ".coupler-restore-")
	if err != nil {
		return Result{}, fmt.Errorf("restore: cannot write in the data dir %s: %w", opts.DataDir, err)
	}
	defer os.RemoveAll(tmpDir)
	man, err := unpack(from, tmpDir)
	if err != nil {
		return Result{}, fmt.Errorf("restore: %s is not a coupler backup archive or is damaged: %w", from, err)
	}
	newDB := filepath.Join(tmpDir, databaseName)
	if err := checkDatabase(ctx, newDB); err != nil {
		return Result{}, fmt.Errorf("restore: the database in %s fails its check, nothing was changed: %w", from, err)
	}

	res := Result{Manifest: man, Path: from}
	suffix := ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
	dbPath := filepath.Join(opts.DataDir, databaseName)
	if _, err := os.Stat(dbPath); err == nil {
		res.MovedTo = dbPath + suffix
	}
	// Move the current state aside (database, its WAL and shared memory, key).
	for _, name := range []string{databaseName, databaseName + "-wal", databaseName + "-shm", keyName} {
		if name == keyName && !man.KeyFile {
			continue // keep the key that is there: the archive has none
		}
		p := filepath.Join(opts.DataDir, name)
		if err := os.Rename(p, p+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Result{}, fmt.Errorf("restore: move %s aside: %w", p, err)
		}
	}
	if err := os.Rename(newDB, dbPath); err != nil {
		return Result{}, fmt.Errorf("restore: put the database in place: %w", err)
	}
	if man.KeyFile {
		if err := os.Rename(filepath.Join(tmpDir, keyName), filepath.Join(opts.DataDir, keyName)); err != nil {
			return Result{}, fmt.Errorf("restore: put the key file in place: %w", err)
		}
	}
	opts.Logger.InfoContext(ctx, "backup restored", "archive", from, "data_dir", opts.DataDir, "previous", res.MovedTo, "key_included", man.KeyFile)
	return res, nil
}

// unpack reads the archive's known members into dir and returns its manifest.
func unpack(from, dir string) (Manifest, error) {
	f, err := os.Open(from)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return Manifest{}, fmt.Errorf("not gzip: %w", err)
	}
	tr := tar.NewReader(gz)
	var man Manifest
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("read the archive: %w", err)
		}
		switch h.Name {
		case manifestName:
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&man); err != nil {
				return Manifest{}, fmt.Errorf("manifest: %w", err)
			}
		case databaseName, keyName:
			if h.Typeflag != tar.TypeReg || h.Size > maxMember {
				return Manifest{}, fmt.Errorf("member %s is not a regular file of a sane size", h.Name)
			}
			if err := extract(tr, filepath.Join(dir, h.Name), h.Size); err != nil {
				return Manifest{}, fmt.Errorf("member %s: %w", h.Name, err)
			}
		default:
			return Manifest{}, fmt.Errorf("unexpected member %q", h.Name)
		}
		seen[h.Name] = true
	}
	switch {
	case !seen[manifestName]:
		return Manifest{}, errors.New("no manifest.json")
	case man.Format != formatV1:
		return Manifest{}, fmt.Errorf("format %d is not known to this coupler (it reads format %d)", man.Format, formatV1)
	case !seen[databaseName]:
		return Manifest{}, fmt.Errorf("no %s", databaseName)
	case man.KeyFile != seen[keyName]:
		return Manifest{}, fmt.Errorf("the manifest says key included = %v but the archive disagrees", man.KeyFile)
	}
	return man, nil
}

func extract(r io.Reader, path string, size int64) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("truncated: %d of %d bytes", n, size)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
