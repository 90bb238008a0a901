package gen

import (
	"math/rand/v2"
	"strconv"
)

// genStore is one synthetic store before it is written.
type genStore struct {
	id, name   string
	metro      *metro
	metroIndex int
	hours      string
	owner      string
	franchisee string
	format     string
	lanes      int
	devices    []string
	partners   []string
	mall       string
	wave       string // label that places the store in a middle ring
	cluster    int    // index into clusterProfiles
	paused     bool
	values     inline // store override of the first app's values
	ring       int    // index into plan.rings
}

var streets = []string{
	"Main Street", "Oak Avenue", "Maple Drive", "Park Road", "Washington Boulevard", "Lake Street",
	"Hill Road", "Station Plaza", "Market Square", "River Road", "Airport Way", "Elm Street",
	"Commerce Parkway", "Union Avenue", "Highland Drive", "Central Avenue",
}

// weighted picks an index from integer weights.
func weighted(rng *rand.Rand, weights []int, total int) int {
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// makeStores draws n stores. The id carries a global serial, so ids are
// unique whatever the metro.
func makeStores(rng *rand.Rand, n int, firstApp string) []*genStore {
	metroW := make([]int, len(metros))
	metroTotal := 0
	for i, m := range metros {
		metroW[i] = m.weight
		metroTotal += m.weight
	}
	formatW := make([]int, len(formats))
	for i, f := range formats {
		formatW[i] = f.weight
	}
	var hoursW [3][]int
	var hoursTotal [3]int
	for c := range 3 {
		for _, h := range hourProfiles {
			hoursW[c] = append(hoursW[c], h.weight[c])
			hoursTotal[c] += h.weight[c]
		}
	}
	franchisesIn := map[string][]string{}
	for _, f := range franchisees {
		for _, r := range f.regions {
			franchisesIn[r] = append(franchisesIn[r], f.id)
		}
	}

	stores := make([]*genStore, n)
	for i := range n {
		mi := weighted(rng, metroW, metroTotal)
		m := &metros[mi]
		serial := i + 1
		num := strconv.Itoa(serial)
		for len(num) < 4 {
			num = "0" + num
		}
		s := &genStore{
			id:         m.idPrefix() + "-" + m.slug + "-" + num,
			name:       m.city + " " + streets[rng.IntN(len(streets))] + " #" + num,
			metro:      m,
			metroIndex: mi,
			owner:      "corporate",
			format:     formats[weighted(rng, formatW, 100)].name,
		}
		if fs := franchisesIn[m.region]; len(fs) > 0 && rng.IntN(100) < 45 {
			s.owner = "franchise"
			s.franchisee = fs[rng.IntN(len(fs))]
		}
		class := 0
		switch s.format {
		case "large":
			s.lanes = 1 + rng.IntN(4)
		case "standard":
			s.lanes = []int{0, 1, 1, 1, 2, 2}[rng.IntN(6)]
		case "small":
			s.lanes = []int{0, 0, 0, 1}[rng.IntN(4)]
			class = 1
		case "kiosk":
			class = 2
		}
		s.hours = hourProfiles[weighted(rng, hoursW[class], hoursTotal[class])].name
		s.devices = drawDevices(rng, s)
		if s.format != "kiosk" {
			for _, p := range m.partners {
				if rng.IntN(100) < 60 {
					s.partners = append(s.partners, p)
				}
			}
		} else {
			s.mall = malls[rng.IntN(len(malls))]
		}
		s.cluster = drawCluster(rng, s.format == "large")
		s.paused = rng.IntN(1000) < 2
		if firstApp != "" && rng.IntN(200) == 0 {
			s.values = inline{{firstApp, inline{{"printer", inline{{"paperWidth", 58}}}}}}
		}
		stores[i] = s
	}
	return stores
}

func drawDevices(rng *rand.Rand, s *genStore) []string {
	var d []string
	if s.format != "kiosk" {
		switch r := rng.IntN(100); {
		case r < 45:
			d = append(d, "acme3000")
		case r < 85:
			d = append(d, "acme3001")
		case r < 95:
			d = append(d, "acme3000", "acme3001")
		}
	}
	if s.format != "kiosk" || rng.IntN(100) < 70 {
		d = append(d, "kds")
	}
	if rng.IntN(100) < 90 {
		d = append(d, "menuboard")
	}
	if s.lanes > 0 && rng.IntN(100) < 60 {
		d = append(d, "dtcam")
	}
	return d
}

func drawCluster(rng *rand.Rand, large bool) int {
	total := 0
	for _, c := range clusterProfiles {
		if large || !c.largeFirst {
			total += c.weight
		}
	}
	n := rng.IntN(total)
	for i, c := range clusterProfiles {
		if !large && c.largeFirst {
			continue
		}
		if n < c.weight {
			return i
		}
		n -= c.weight
	}
	return 0
}

// storeFields is the store as CUE, in the order people write it.
func storeFields(s *genStore) obj {
	m := s.metro
	o := make(obj, 0, 12)
	o = append(o,
		field{"name", s.name},
		field{"geo", m.geoPrefix() + "/" + m.slug},
		field{"timezone", m.tz},
		field{"hours", ref("_hours." + s.hours)},
		field{"jurisdiction", inline{{"country", m.country}, {"region", m.region}, {"city", m.city}}},
	)
	attrs := make(obj, 0, 9)
	attrs = append(attrs, field{"owner", s.owner})
	if s.franchisee != "" {
		attrs = append(attrs, field{"franchisee", s.franchisee})
	}
	attrs = append(attrs, field{"format", s.format})
	if s.lanes > 0 {
		attrs = append(attrs, field{"driveThruLanes", s.lanes})
	}
	if len(s.devices) > 0 {
		attrs = append(attrs, field{"devices", s.devices})
	}
	if len(s.partners) > 0 {
		attrs = append(attrs, field{"deliveryPartners", s.partners})
	}
	if m.langs != nil {
		attrs = append(attrs, field{"languages", m.langs})
	}
	var labels inline
	if s.mall != "" {
		labels = append(labels, field{"mall", s.mall})
	}
	if s.wave != "" {
		labels = append(labels, field{"wave", s.wave})
	}
	if labels != nil {
		attrs = append(attrs, field{"labels", labels})
	}
	o = append(o, field{"attributes", attrs})
	c := clusterProfiles[s.cluster]
	o = append(o, field{"cluster", inline{{"nodes", c.nodes}, {"k3sVersion", c.k3s}, {"fluxVersion", c.flux}}})
	if s.paused {
		o = append(o, field{"pause", inline{{"reason", "remodel: store closed, cluster powered down"}}})
	}
	if s.values != nil {
		o = append(o, field{"values", s.values})
	}
	return o
}
