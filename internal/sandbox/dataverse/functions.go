package dataverse

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

func (s *Server) serviceDocument(op *opRequest) (*result, error) {
	if op.method != http.MethodGet {
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The service document only answers GET.")
	}
	s.db.mu.RLock()
	tables := s.schema.sortedTables()
	s.db.mu.RUnlock()
	type entry struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		URL  string `json:"url"`
	}
	out := struct {
		Context string  `json:"@odata.context"`
		Value   []entry `json:"value"`
	}{Context: op.caller.apiURL + "$metadata"}
	for _, t := range tables {
		out.Value = append(out.Value, entry{t.Set, "EntitySet", t.Set})
	}
	b, _ := json.Marshal(out)
	return jsonResult(http.StatusOK, b), nil
}

// whoAmI answers the WhoAmI function with the effective (possibly impersonated) user.
func (s *Server) whoAmI(op *opRequest) (*result, error) {
	if op.method != http.MethodGet {
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "WhoAmI is a function: call it with GET.")
	}
	defer s.rlock(op)()
	bu, _ := s.businessUnitOf(ref{ID: op.caller.user, Table: "systemuser"}).(ref)
	b, _ := json.Marshal(map[string]string{
		"@odata.context": op.caller.apiURL + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
		"BusinessUnitId": bu.ID.String(),
		"UserId":         op.caller.user.String(),
		"OrganizationId": s.ids.org.String(),
	})
	return jsonResult(http.StatusOK, b), nil
}

func (s *Server) retrieveVersion(op *opRequest) (*result, error) {
	if op.method != http.MethodGet {
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "RetrieveVersion is a function: call it with GET.")
	}
	b, _ := json.Marshal(map[string]string{
		"@odata.context": op.caller.apiURL + "$metadata#Microsoft.Dynamics.CRM.RetrieveVersionResponse",
		"Version":        crmVersion,
	})
	return jsonResult(http.StatusOK, b), nil
}

// isSystemAdministrator reports whether user holds the System Administrator role. Callers
// hold a lock.
func (s *Server) isSystemAdministrator(user uuid.UUID) bool {
	return s.db.userRoles[user][s.ids.roleSysAdmin]
}

var (
	uniqueNameRe = regexp.MustCompile(`<UniqueName>\s*([^<\s]+)\s*</UniqueName>`)
	versionRe    = regexp.MustCompile(`<Version>\s*([^<\s]+)\s*</Version>`)
	friendlyRe   = regexp.MustCompile(`<LocalizedName description="([^"]*)"`)
)

// importSolution answers ImportSolution / ImportSolutionAsync: it reads solution.xml from
// the base64 zip and records the solution as installed.
func (s *Server) importSolution(op *opRequest, async bool) (*result, error) {
	if op.method != http.MethodPost {
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "ImportSolution is an action: call it with POST.")
	}
	var in struct {
		CustomizationFile                string
		OverwriteUnmanagedCustomizations *bool
		PublishWorkflows                 *bool
		ImportJobId                      string
	}
	if err := json.Unmarshal(op.body, &in); err != nil {
		return nil, badRequest(codeODataGeneric, "Invalid JSON for ImportSolution: %v", err)
	}
	if in.CustomizationFile == "" {
		return nil, badRequest(codeInvalidArgument, "ImportSolution: the parameter 'CustomizationFile' (the solution zip, base64) is required.")
	}
	if in.OverwriteUnmanagedCustomizations == nil || in.PublishWorkflows == nil {
		return nil, badRequest(codeInvalidArgument, "ImportSolution: the parameters 'OverwriteUnmanagedCustomizations' and 'PublishWorkflows' are required.")
	}
	zipBytes, err := base64.StdEncoding.DecodeString(in.CustomizationFile)
	if err != nil {
		return nil, badRequest(codeInvalidArgument, "ImportSolution: 'CustomizationFile' is not base64: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		return nil, badRequest("0x80048060", "The import file is invalid: it is not a solution zip (%v).", err)
	}
	var solutionXML []byte
	for _, f := range zr.File {
		if strings.EqualFold(f.Name, "solution.xml") {
			rc, err := f.Open()
			if err != nil {
				return nil, badRequest("0x80048060", "The import file is invalid: solution.xml cannot be read (%v).", err)
			}
			var buf bytes.Buffer
			_, err = buf.ReadFrom(http.MaxBytesReader(nil, rc, 16<<20))
			rc.Close()
			if err != nil {
				return nil, badRequest("0x80048060", "The import file is invalid: solution.xml cannot be read (%v).", err)
			}
			solutionXML = buf.Bytes()
		}
	}
	if solutionXML == nil {
		return nil, badRequest("0x80048060", "The import file is invalid: the zip has no solution.xml at its root.")
	}
	m := uniqueNameRe.FindSubmatch(solutionXML)
	if m == nil {
		return nil, badRequest("0x80048060", "The import file is invalid: solution.xml has no <UniqueName>.")
	}
	name := string(m[1])
	version := "1.0.0.0"
	if v := versionRe.FindSubmatch(solutionXML); v != nil {
		version = string(v[1])
	}
	friendly := name
	if f := friendlyRe.FindSubmatch(solutionXML); f != nil {
		friendly = string(f[1])
	}
	x, done := s.wlock(op)
	err = func() error {
		if !s.isSystemAdministrator(op.caller.user) {
			return errf(http.StatusForbidden, "0x80040220", "Principal user (Id=%s, type=8) is missing prvImportCustomization privilege (Id=e60dd9d3-96b2-4d37-9c2b-c4de0b0c3bb0) on OTC=7100 for entity 'solution'. Import the solution as a System Administrator.", op.caller.user)
		}
		body, _ := json.Marshal(map[string]any{"uniquename": name, "friendlyname": friendly, "version": version, "ismanaged": false})
		ts := s.db.store("solution")
		existing, _ := ts.lookupEq(ts.t.col("uniquename").idx, name)
		parsed, _ := parseBody(body)
		if len(existing) > 0 {
			_, err := s.update(op, x, ts.t, ts.byID[existing[0]], parsed)
			return err
		}
		_, err := s.insert(op, x, ts.t, parsed, uuid.Nil, nil)
		return err
	}()
	done(err)
	if err != nil {
		return nil, err
	}
	s.log.Info("dataverse: solution imported", "solution", name, "version", version)
	if async {
		b, _ := json.Marshal(map[string]string{
			"@odata.context":   op.caller.apiURL + "$metadata#Microsoft.Dynamics.CRM.ImportSolutionAsyncResponse",
			"AsyncOperationId": uuid.NewString(), "ImportJobKey": uuid.NewString(),
		})
		return jsonResult(http.StatusOK, b), nil
	}
	return newResult(http.StatusNoContent), nil
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	s.db.mu.RLock()
	rows := map[string]int{}
	for name, ts := range s.db.stores {
		rows[name] = len(ts.byID)
	}
	version := s.db.version
	s.db.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	out := map[string]any{"requests": s.requests.Load(), "rows": rows, "version": version}
	if s.opts.Limiter != nil {
		st := s.opts.Limiter.Stats()
		out["limits"] = st
	}
	if s.opts.Faults != nil {
		out["faults"] = s.opts.Faults.Counts()
	}
	_ = json.NewEncoder(w).Encode(out)
}

// deterministicID derives a stable GUID from a name (demo data, metadata ids).
func deterministicID(name string) uuid.UUID {
	return uuid.NewSHA1(uuid.MustParse("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), []byte("coupler-dataverse:"+name))
}
