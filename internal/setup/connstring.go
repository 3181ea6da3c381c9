package setup

import (
	"errors"
	"strings"

	"github.com/coupler/coupler/internal/dataverse"
)

// sampleRedirectURI is the redirect URI Microsoft documents with its
// public sample client id; the password grant does not use it but XRM
// tooling requires one for AuthType=OAuth.
const sampleRedirectURI = "app://58145B91-0C36-4500-8554-080854F2AC97"

// ConnectionTemplate returns the connection-string template to store:
// built from the CRM settings when raw is empty, else raw parsed by the
// Dataverse client's parser and checked against the settings (same
// AuthType, URL, user and client id; the secret only as its placeholder).
func ConnectionTemplate(field string, crm CRMSettings, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return defaultTemplate(crm).Format(), nil
	}
	cs, err := dataverse.ParseConnectionString(raw)
	if err != nil {
		return "", connFieldError(field, err)
	}
	shown := cs.String() // secrets redacted
	fe := func(problem, fix string) error {
		return &FieldError{Field: field, Value: shown, Problem: problem, Fix: fix}
	}
	if cs.AuthType == "" {
		cs.AuthType = dataverse.AuthType(crm.AuthType)
	}
	if string(cs.AuthType) != string(crm.AuthType) {
		return "", fe("says AuthType="+string(cs.AuthType)+" but crm.auth-type is "+string(crm.AuthType),
			"make them the same")
	}
	ph := crm.AuthType.Placeholder()
	key := placeholderKey(crm.AuthType)
	if v := secretValue(cs, crm.AuthType); v != "" && !strings.Contains(v, ph) {
		return "", fe(key+" holds a secret instead of the placeholder "+ph,
			"write "+key+"="+ph+" and give the secret separately (--"+secretFlag(crm.AuthType)+"); it is stored encrypted")
	}
	if !strings.Contains(raw, ph) {
		return "", fe("has no "+ph+" placeholder", "write "+placeholderKey(crm.AuthType)+"="+ph+" in the template; the secret itself is stored encrypted")
	}
	if cs.URL == "" {
		cs.URL = crm.URL
	} else if u, err := NormalizeCRMURL(field, cs.URL, crm.AllowInsecure); err != nil || u != crm.URL {
		return "", fe("has Url="+cs.URL+" but crm.url is "+crm.URL, "remove Url from the template or make it the same")
	}
	if crm.AuthType.UsesPassword() {
		if cs.UserName == "" {
			cs.UserName = userPart(crm)
			if crm.AuthType == AuthAD && cs.Domain == "" {
				cs.Domain = domainPart(crm.UserName)
			}
		} else if !sameUser(cs, crm) {
			return "", fe("has UserName="+cs.UserName+" but crm.user is "+crm.UserName, "remove UserName from the template or make it the same")
		}
	}
	if crm.ClientID != "" {
		if cs.ClientID == "" {
			cs.ClientID = crm.ClientID
		} else if !strings.EqualFold(cs.ClientID, crm.ClientID) {
			return "", fe("has ClientId="+cs.ClientID+" but crm.client-id is "+crm.ClientID, "remove ClientId from the template or make it the same")
		}
	}
	if cs.AuthType == dataverse.AuthOAuth && cs.RedirectURI == "" {
		cs.RedirectURI = sampleRedirectURI
	}
	if err := cs.ValidateTemplate(); err != nil {
		return "", connFieldError(field, err)
	}
	return cs.Format(), nil
}

func secretValue(cs dataverse.ConnectionString, a AuthType) string {
	switch a {
	case AuthClientSecret:
		return cs.ClientSecret
	case AuthCertificate:
		return cs.Certificate
	}
	return cs.Password
}

func secretFlag(a AuthType) string {
	switch a {
	case AuthClientSecret:
		return "crm-client-secret"
	case AuthCertificate:
		return "crm-certificate"
	}
	return "crm-password"
}

func placeholderKey(a AuthType) string {
	switch a {
	case AuthClientSecret:
		return "ClientSecret"
	case AuthCertificate:
		return "Certificate"
	}
	return "Password"
}

func connFieldError(field string, err error) error {
	var ce *dataverse.ConnStringError
	if errors.As(err, &ce) {
		problem := ce.Problem
		if ce.Key != "" {
			problem = ce.Key + ": " + problem
		}
		return &FieldError{Field: field, Problem: problem, Fix: ce.Fix, Err: err}
	}
	return &FieldError{Field: field, Problem: err.Error(), Fix: "check the connection string's syntax: key=value pairs separated by ';'"}
}

func userPart(crm CRMSettings) string {
	if crm.AuthType == AuthAD {
		if i := strings.IndexByte(crm.UserName, '\\'); i >= 0 {
			return crm.UserName[i+1:]
		}
	}
	return crm.UserName
}

func domainPart(user string) string {
	if i := strings.IndexByte(user, '\\'); i >= 0 {
		return user[:i]
	}
	return ""
}

func sameUser(cs dataverse.ConnectionString, crm CRMSettings) bool {
	full := cs.UserName
	if cs.Domain != "" && !strings.ContainsAny(full, `\@`) {
		full = cs.Domain + `\` + full
	}
	return strings.EqualFold(full, crm.UserName) || strings.EqualFold(cs.UserName, crm.UserName)
}

func defaultTemplate(crm CRMSettings) dataverse.ConnectionString {
	cs := dataverse.ConnectionString{AuthType: dataverse.AuthType(crm.AuthType), URL: crm.URL}
	switch crm.AuthType {
	case AuthClientSecret:
		cs.ClientID, cs.ClientSecret = crm.ClientID, dataverse.PlaceholderClientSecret
	case AuthCertificate:
		cs.ClientID, cs.Certificate = crm.ClientID, dataverse.PlaceholderCertificate
	case AuthOAuth:
		cs.UserName, cs.Password, cs.ClientID = crm.UserName, dataverse.PlaceholderPassword, crm.ClientID
		cs.RedirectURI, cs.LoginPrompt = sampleRedirectURI, dataverse.LoginPromptNever
	case AuthAD:
		cs.Domain, cs.UserName, cs.Password = domainPart(crm.UserName), userPart(crm), dataverse.PlaceholderPassword
	default: // Office365, IFD
		cs.UserName, cs.Password = crm.UserName, dataverse.PlaceholderPassword
	}
	return cs
}

// FillConnection returns the connection string with its secret filled in,
// parsed, for the Dataverse client. The result holds a secret: never log it.
func FillConnection(crm CRMSettings, secret string) (dataverse.ConnectionString, error) {
	tpl := crm.ConnectionString
	if tpl == "" {
		tpl = defaultTemplate(crm).Format()
	}
	cs, err := dataverse.ParseConnectionString(tpl)
	if err != nil {
		return cs, connFieldError("crm.connection-string", err)
	}
	filled, err := cs.Fill(dataverse.Secrets{Password: secret, ClientSecret: secret, Certificate: secret})
	if err != nil {
		return cs, connFieldError("crm.connection-string", err)
	}
	if filled.URL == "" {
		filled.URL = crm.URL
	}
	return filled, nil
}
