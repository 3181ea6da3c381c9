package setup

// AnswersFrom turns a stored setup back into answers, so that re-running
// the setup proposes (interactive) or keeps (flags) the current values and
// only what the user changes changes. Secrets are not answers: an empty
// secret answer keeps the stored one.
func AnswersFrom(c ConnectionSetup) Answers {
	a := Answers{
		"allow-insecure":                   yesNo(c.CRM.AllowInsecure || c.ERP.AllowInsecure),
		"crm.url":                          c.CRM.URL,
		"crm.auth-type":                    string(c.CRM.AuthType),
		"crm.user":                         c.CRM.UserName,
		"crm.client-id":                    c.CRM.ClientID,
		"crm.token-url":                    c.CRM.TokenURL,
		"crm.connection-string":            c.CRM.ConnectionString,
		"crm.api-version":                  c.CRM.APIVersion,
		"crm.sdk-version":                  c.CRM.SDKVersion,
		"erp.url":                          c.ERP.APIURL,
		"erp.company-id":                   c.ERP.CompanyID,
		"erp.auth-type":                    c.ERP.AuthType,
		"erp.client-id":                    c.ERP.ClientID,
		"erp.token-url":                    c.ERP.TokenURL,
		"erp.scope":                        c.ERP.Scope,
		"erp.user":                         c.ERP.UserName,
		"erp.web-client-url":               c.ERP.WebClientURL,
		"import-solution":                  yesNo(c.CRM.ImportSolution),
		"availability.enabled":             yesNo(c.Availability.Enabled),
		"availability.odata-url":           c.Availability.ODataURL,
		"availability.user":                c.Availability.UserName,
		"availability.job":                 yesNo(c.Availability.JobEnable),
		"sales-orders.enabled":             yesNo(c.SalesOrders.Enabled),
		"sales-orders.auto-create":         yesNo(c.SalesOrders.AutoCreate),
		"sales-orders.auto-process-quotes": yesNo(c.SalesOrders.AutoProcessQuote),
		"sales-orders.bidirectional":       yesNo(c.SalesOrders.Bidirectional),
		"users-must-map":                   yesNo(c.UsersMustMapToCRM),
		"enable":                           "yes",
	}
	for k, v := range a {
		if v == "" {
			delete(a, k)
		}
	}
	return a
}
