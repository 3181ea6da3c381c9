package bc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// User is a record of the automation API's users (key userSecurityId);
// coupler matches them to CRM users by contact e-mail.
type User struct {
	UserSecurityID string    `json:"userSecurityId"`
	UserName       string    `json:"userName"`
	DisplayName    string    `json:"displayName"`
	State          string    `json:"state"` // Enabled, Disabled
	ExpiryDate     time.Time `json:"expiryDate,omitzero"`
	ContactEmail   string    `json:"contactEmail"`
}

// AutomationRoot is the automation API root beside the API root:
// …/api/microsoft/automation/v2.0.
func (c *Client) AutomationRoot() string {
	return strings.TrimSuffix(c.root.String(), "/api/v2.0") + "/api/microsoft/automation/v2.0"
}

// ListUsers reads the company's users from the automation API.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	u := c.AutomationRoot() + "/companies(" + c.company + ")/users"
	err := c.walk(ctx, "users", u, 0, false, func(p Page) error {
		us, err := decodeAll[User]("users", p.Records)
		if err != nil {
			return err
		}
		out = append(out, us...)
		return nil
	})
	return out, err
}

// maxMetadata bounds the $metadata document (BC's is a few MB).
const maxMetadata = 64 << 20

// Metadata returns the API root's $metadata document (CSDL XML), which
// tells which entity sets and fields this Business Central version has.
func (c *Client) Metadata(ctx context.Context) ([]byte, error) {
	var out []byte
	_, err := c.do(ctx, request{method: http.MethodGet, url: c.root.String() + "/$metadata", set: "$metadata", idempotent: true,
		header: http.Header{"Accept": {"application/xml"}},
		accept: func(r *http.Response) error {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxMetadata))
			if err != nil {
				return fmt.Errorf("bc: reading $metadata: %w", err)
			}
			out = b
			return nil
		}})
	return out, err
}
