package bc

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

var (
	scaleFirst  = []string{"Alex", "Blake", "Casey", "Dana", "Eli", "Frankie", "Gray", "Harper", "Indra", "Jules", "Kim", "Lee", "Morgan", "Noor", "Oak", "Parker", "Quinn", "Riley", "Sam", "Taylor"}
	scaleLast   = []string{"Adams", "Brook", "Carter", "Dunn", "Ellis", "Fox", "Gray", "Hale", "Irwin", "Jones", "Knight", "Lane", "Moss", "Nash", "Owen", "Price", "Reed", "Stone", "Todd", "Wells"}
	scaleTrade  = []string{"Trading", "Supplies", "Interiors", "Offices", "Design", "Group", "Partners", "Works", "Studio", "Systems"}
	scaleCities = []struct{ city, post, country string }{
		{"London", "EC1A 1BB", "GB"}, {"Manchester", "M1 1AE", "GB"}, {"Leeds", "LS1 4DY", "GB"}, {"Bristol", "BS1 4DJ", "GB"},
		{"Glasgow", "G1 1XQ", "GB"}, {"Dublin", "D02 X285", "IE"}, {"Paris", "75001", "FR"}, {"Berlin", "10115", "DE"},
	}
)

// seedSpan is how far back the synthetic rows' modification times reach. Real tables are
// written over time; rows stamped as they were seeded made the first incremental read after
// a full one re-read the last seconds of the seed (docs/benchmarks.md, finding 4).
const seedSpan = 30 * 24 * time.Hour

// seedStamp is the modification time (Unix ms) of synthetic row i of n (1-based): spread
// evenly over the seedSpan before now, increasing with i, the last row one step before now.
func seedStamp(now int64, i, n int) int64 {
	step := max(seedSpan.Milliseconds()/int64(n), 1)
	return now - int64(n-i+1)*step
}

// seedScale adds n synthetic customers (each with a company contact) and n/10 items
// (each with 100 in stock), deterministically: the same n gives the same records, with
// modification times spread over the seedSpan before the seed's time.
func (c *company) seedScale(n int) error {
	if n < 0 {
		return fmt.Errorf("scale must be >= 0, got %d", n)
	}
	now := c.nowMillis()
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	cust, cont := c.tables["customers"], c.tables["contacts"]
	cs, ks := cust.set, cont.set
	var terms string
	if pt := c.byCode("paymentTerms", "14 DAYS"); pt != nil {
		terms = pt.id
	}
	cust.reserve(n)
	cont.reserve(n)
	cp := func(name string) int { return cs.index[name] }
	kp := func(name string) int { return ks.index[name] }
	for i := 1; i <= n; i++ {
		no := "S" + pad(i, 7)
		name := scaleLast[rng.IntN(len(scaleLast))] + " " + scaleTrade[rng.IntN(len(scaleTrade))] + " " + strconv.Itoa(i)
		person := scaleFirst[rng.IntN(len(scaleFirst))] + " " + scaleLast[rng.IntN(len(scaleLast))]
		loc := scaleCities[rng.IntN(len(scaleCities))]
		email := "contact" + strconv.Itoa(i) + "@example.com"
		addr := strconv.Itoa(1+rng.IntN(200)) + " High Street"
		vals := make([]any, len(cs.fields))
		vals[cp("number")], vals[cp("displayName")], vals[cp("type")] = no, name, "Company"
		vals[cp("addressLine1")], vals[cp("city")], vals[cp("postalCode")] = addr, loc.city, loc.post
		vals[cp("country")], vals[cp("email")], vals[cp("currencyCode")] = loc.country, email, c.lcy
		vals[cp("salespersonCode")], vals[cp("creditLimit")] = "JO", float64(1000*rng.IntN(50))
		if terms != "" {
			vals[cp("paymentTermsId")] = terms
		}
		mod := seedStamp(now, i, n)
		c.insertSlice(cust, seedID("customers", no), vals).mod = mod
		cno := "SCT" + pad(i, 7)
		kv := make([]any, len(ks.fields))
		kv[kp("number")], kv[kp("type")], kv[kp("displayName")] = cno, "Company", name
		kv[kp("companyNumber")], kv[kp("companyName")], kv[kp("contactBusinessRelation")] = cno, name, "Customer"
		kv[kp("addressLine1")], kv[kp("city")], kv[kp("postalCode")] = addr, loc.city, loc.post
		kv[kp("country")], kv[kp("email")], kv[kp("searchName")] = loc.country, email, name
		c.insertSlice(cont, seedID("contacts", cno), kv).mod = mod
		c.contactOf["customers/"+seedID("customers", no)] = cno
		c.primaryContact[no] = person
	}
	items := c.tables["items"]
	is := items.set
	var pcs string
	if u := c.byCode("unitsOfMeasure", "PCS"); u != nil {
		pcs = u.id
	}
	date := fmt.Sprintf("%d-06-01", c.startingYear())
	for i := 1; i <= n/10; i++ {
		no := "SI" + pad(i, 7)
		price := float64(100+rng.IntN(90000)) / 100
		r := c.insertRaw(nil, items, seedID("items", no), map[int]any{
			is.index["number"]: no, is.index["displayName"]: "Synthetic item " + strconv.Itoa(i), is.index["type"]: "Inventory",
			is.index["unitPrice"]: price, is.index["unitCost"]: round2(price * 0.78), is.index["baseUnitOfMeasureCode"]: "PCS",
			is.index["baseUnitOfMeasureId"]: pcs, is.index["generalProductPostingGroupCode"]: "RETAIL", is.index["inventoryPostingGroupCode"]: "RESALE",
		})
		r.mod = seedStamp(now, i, n/10)
		c.addLedgerEntry(nil, r, date, "Positive_x0020_Adjmt_x002E_", "_x0020_", "", "_x0020_", "START", 100, 0, 100*round2(price*0.78))
	}
	return nil
}

func pad(i, w int) string {
	s := strconv.Itoa(i)
	for len(s) < w {
		s = "0" + s
	}
	return s
}
