package gen

// The synthetic chain's world: metros with their timezones and
// jurisdictions, franchisees and the states they operate in, devices,
// delivery partners, opening-hour profiles and cluster versions.

// metro is a city the chain has stores in.
type metro struct {
	country  string // ISO code, e.g. US
	region   string // state or province code, e.g. IL
	geoArea  string // second geo segment: northeast, midwest, quebec, ...
	slug     string // city in ids and geo paths
	city     string // display name
	tz       string
	langs    []string // nil = the schema default (en)
	partners []string // delivery partners available
	weight   int      // relative number of stores
}

// idPrefix is the id's jurisdiction part: us-il, qc, on.
func (m *metro) idPrefix() string {
	if m.country == "US" {
		return "us-" + lower(m.region)
	}
	return lower(m.region)
}

// geoPrefix is the store's geo path without the city.
func (m *metro) geoPrefix() string {
	if m.country == "US" {
		return "us/" + m.geoArea + "/" + lower(m.region)
	}
	return "ca/" + m.geoArea
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

var (
	usPartners = []string{"doordash", "ubereats", "grubhub"}
	caPartners = []string{"skipthedishes", "ubereats", "doordash"}
	frEn       = []string{"fr", "en"}
	enEs       = []string{"en", "es"}
)

// metros, ordered by area; weights roughly follow population.
var metros = []metro{
	{"US", "NY", "northeast", "new-york", "New York", "America/New_York", nil, usPartners, 30},
	{"US", "NY", "northeast", "albany", "Albany", "America/New_York", nil, usPartners, 4},
	{"US", "MA", "northeast", "boston", "Boston", "America/New_York", nil, usPartners, 10},
	{"US", "PA", "northeast", "philadelphia", "Philadelphia", "America/New_York", nil, usPartners, 10},
	{"US", "PA", "northeast", "pittsburgh", "Pittsburgh", "America/New_York", nil, usPartners, 5},
	{"US", "NJ", "northeast", "newark", "Newark", "America/New_York", nil, usPartners, 6},
	{"US", "IL", "midwest", "chicago", "Chicago", "America/Chicago", nil, usPartners, 18},
	{"US", "IL", "midwest", "springfield", "Springfield", "America/Chicago", nil, usPartners, 3},
	{"US", "IL", "midwest", "naperville", "Naperville", "America/Chicago", nil, usPartners, 3},
	{"US", "OH", "midwest", "columbus", "Columbus", "America/New_York", nil, usPartners, 6},
	{"US", "MI", "midwest", "detroit", "Detroit", "America/Detroit", nil, usPartners, 7},
	{"US", "MN", "midwest", "minneapolis", "Minneapolis", "America/Chicago", nil, usPartners, 6},
	{"US", "MO", "midwest", "kansas-city", "Kansas City", "America/Chicago", nil, usPartners, 5},
	{"US", "TX", "south", "houston", "Houston", "America/Chicago", enEs, usPartners, 16},
	{"US", "TX", "south", "dallas", "Dallas", "America/Chicago", nil, usPartners, 14},
	{"US", "TX", "south", "austin", "Austin", "America/Chicago", nil, usPartners, 7},
	{"US", "TX", "south", "san-antonio", "San Antonio", "America/Chicago", enEs, usPartners, 7},
	{"US", "TX", "south", "el-paso", "El Paso", "America/Denver", enEs, usPartners, 3},
	{"US", "GA", "south", "atlanta", "Atlanta", "America/New_York", nil, usPartners, 10},
	{"US", "FL", "south", "miami", "Miami", "America/New_York", enEs, usPartners, 10},
	{"US", "FL", "south", "orlando", "Orlando", "America/New_York", nil, usPartners, 6},
	{"US", "TN", "south", "nashville", "Nashville", "America/Chicago", nil, usPartners, 5},
	{"US", "AZ", "west", "phoenix", "Phoenix", "America/Phoenix", nil, usPartners, 12},
	{"US", "AZ", "west", "tucson", "Tucson", "America/Phoenix", nil, usPartners, 4},
	{"US", "CO", "west", "denver", "Denver", "America/Denver", nil, usPartners, 8},
	{"US", "UT", "west", "salt-lake-city", "Salt Lake City", "America/Denver", nil, usPartners, 4},
	{"US", "NV", "west", "las-vegas", "Las Vegas", "America/Los_Angeles", nil, usPartners, 6},
	{"US", "CA", "west", "los-angeles", "Los Angeles", "America/Los_Angeles", enEs, usPartners, 24},
	{"US", "CA", "west", "san-francisco", "San Francisco", "America/Los_Angeles", nil, usPartners, 8},
	{"US", "CA", "west", "san-diego", "San Diego", "America/Los_Angeles", enEs, usPartners, 8},
	{"US", "WA", "west", "seattle", "Seattle", "America/Los_Angeles", nil, usPartners, 8},
	{"US", "OR", "west", "portland", "Portland", "America/Los_Angeles", nil, usPartners, 5},
	{"CA", "QC", "quebec", "montreal", "Montréal", "America/Toronto", frEn, caPartners, 10},
	{"CA", "QC", "quebec", "quebec-city", "Québec", "America/Toronto", frEn, caPartners, 4},
	{"CA", "QC", "quebec", "laval", "Laval", "America/Toronto", frEn, caPartners, 3},
	{"CA", "ON", "ontario", "toronto", "Toronto", "America/Toronto", nil, caPartners, 12},
	{"CA", "ON", "ontario", "ottawa", "Ottawa", "America/Toronto", frEn, caPartners, 4},
}

// franchisee operates franchise stores in some states and provinces.
type franchisee struct {
	id      string
	name    string
	regions []string
}

var franchisees = []franchisee{
	{"lakeshore-restaurants", "Lakeshore Restaurants LLC", []string{"IL", "MI", "MN"}},
	{"lone-star-eats", "Lone Star Eats Inc.", []string{"TX"}},
	{"groupe-boreal", "Groupe Boréal inc.", []string{"QC"}},
	{"sunbelt-dining", "Sunbelt Dining Group", []string{"GA", "FL", "TN"}},
	{"pacific-crest-foods", "Pacific Crest Foods", []string{"CA", "WA", "OR", "NV"}},
	{"keystone-qsr", "Keystone QSR Partners", []string{"PA", "NJ", "NY"}},
	{"desert-bloom", "Desert Bloom Restaurants", []string{"AZ", "UT", "CO"}},
	{"maple-leaf-hospitality", "Maple Leaf Hospitality", []string{"ON"}},
	{"heartland-grills", "Heartland Grills", []string{"OH", "MO", "IL"}},
}

// Store formats and the weights of each.
var formats = []struct {
	name   string
	weight int
}{{"standard", 55}, {"large", 20}, {"small", 17}, {"kiosk", 8}}

// hourProfiles are written once per store file as the hidden _hours.
var hourProfiles = []struct {
	name string
	days obj
	// weight for standard/large, small, kiosk
	weight [3]int
}{
	{"standard", week("06:00", "22:00", "06:00", "23:00", "07:00", "21:00"), [3]int{50, 40, 10}},
	{"lateNight", week("06:00", "02:00", "06:00", "03:00", "07:00", "01:00"), [3]int{20, 10, 5}},
	{"allNight", week("05:00", "04:00", "05:00", "04:00", "05:00", "04:00"), [3]int{8, 5, 5}},
	{"noSunday", noSunday("06:00", "21:00"), [3]int{10, 20, 5}},
	{"weekdays", weekdays("06:30", "20:00"), [3]int{2, 20, 10}},
	{"mall", week("10:00", "21:00", "10:00", "21:00", "11:00", "18:00"), [3]int{0, 5, 65}},
}

func day(open, close string) inline { return inline{{"open", open}, {"close", close}} }

// week: mon-thu, fri-sat, sun.
func week(o1, c1, o2, c2, o3, c3 string) obj {
	return obj{
		{"mon", day(o1, c1)}, {"tue", day(o1, c1)}, {"wed", day(o1, c1)}, {"thu", day(o1, c1)},
		{"fri", day(o2, c2)}, {"sat", day(o2, c2)}, {"sun", day(o3, c3)},
	}
}

func noSunday(o, c string) obj { return week(o, c, o, c, "", "")[:6] }

func weekdays(o, c string) obj { return week(o, c, o, c, "", "")[:5] }

// clusterProfiles: nodes, k3s, flux, weight.
var clusterProfiles = []struct {
	nodes      int
	k3s, flux  string
	weight     int
	largeFirst bool // only for large stores
}{
	{1, "v1.33.5+k3s1", "v2.7.2", 55, false},
	{1, "v1.32.9+k3s1", "v2.6.4", 20, false},
	{1, "v1.34.1+k3s1", "v2.7.2", 5, false},
	{2, "v1.33.5+k3s1", "v2.7.2", 12, true},
	{3, "v1.33.5+k3s1", "v2.7.2", 8, true},
}

// malls for the mall label of kiosks.
var malls = []string{"airport", "train-station", "shopping-center", "university", "stadium"}
