package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// drainButtons: dc2 gets a second xTR, so one of the two is the
// designated forwarder of instance-id 100; the Drain button moves it to
// the other, the row says drained, and Undrain brings it back.
func drainButtons(t *testing.T, e *env, b *browser) {
	e.mustCall("POST", "/sites/dc2/xtrs", map[string]any{"name": "dc2-leaf2", "rloc": "192.0.2.12"})
	b.do("open manage", chromedp.Click(chromedp.CSS(`#nav a[data-route="manage"]`)))
	row := func(n string) string { return fmt.Sprintf(`#manage-xtrs-table tr[data-key="%s"]`, n) }
	b.visible(row("dc2-leaf2"))
	df := "dc2-leaf1"
	if strings.TrimSpace(b.text(row("dc2-leaf2")+` td[data-col="df"]`)) == "100" {
		df = "dc2-leaf2"
	}
	other := map[string]string{"dc2-leaf1": "dc2-leaf2", "dc2-leaf2": "dc2-leaf1"}[df]
	if got := strings.TrimSpace(b.text(row(df) + ` td[data-col="df"]`)); got != "100" {
		t.Fatalf("no designated forwarder of 100 at dc2: %s shows %q", df, got)
	}
	b.do("drain", chromedp.Click(chromedp.ID("xtr-drain-"+df)))
	b.waitFor("drained row", fmt.Sprintf(`(document.querySelector('%s td[data-col="locator"]')||{}).textContent === 'up, drained'`, row(df)))
	b.waitFor("DF moved", fmt.Sprintf(`(document.querySelector('%s td[data-col="df"]')||{}).textContent === '100'`, row(other)))
	if x := e.mustCall("GET", "/xtrs/"+df, nil); x["drained"] != true {
		t.Errorf("the API says %s drained = %v", df, x["drained"])
	}
	t.Logf("screenshot: %s", b.screenshot(b.dir, "drain.png"))
	b.do("undrain", chromedp.Click(chromedp.ID("xtr-undrain-"+df)))
	b.waitFor("back in service", fmt.Sprintf(`(document.querySelector('%s td[data-col="locator"]')||{}).textContent === 'up'`, row(df)))
	b.do("open events", chromedp.Click(chromedp.CSS(`#nav a[data-route="events"]`)))
	b.visible(`#events-list li[data-type="xtr.drained"]`)
	if got := b.text(`#events-list li[data-type="xtr.drained"]`); !strings.Contains(got, "xTR "+df+" drained for maintenance") {
		t.Errorf("drain event text = %q", got)
	}
}
