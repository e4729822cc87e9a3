package northbound

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
)

// importBody is the body of POST /mappings/import: many POST /mappings
// bodies at once.
type importBody struct {
	Items []mappingBody `json:"items"`
}

// importItem is what became of one item, in the order given: the status
// POST /mappings would have answered, and its error body if refused.
type importItem struct {
	Status int        `json:"status"`
	Error  *errorBody `json:"error,omitempty"`
}

type importAnswer struct {
	Created  int          `json:"created"`
	Replaced int          `json:"replaced"`
	Refused  int          `json:"refused"`
	Results  []importItem `json:"results"`
}

// importMappings stores up to controller.MaxImport mappings with one
// write: each is judged on its own, and the answer (200) comes once those
// accepted are committed.
func (s *Server) importMappings(c *gin.Context) {
	var b importBody
	if !bind(c, &b) {
		return
	}
	if len(b.Items) == 0 || len(b.Items) > controller.MaxImport {
		fail(c, http.StatusBadRequest, "invalid", "items", fmt.Sprintf("items must hold 1 to %d mappings", controller.MaxImport))
		return
	}
	ins := make([]controller.MappingInput, len(b.Items))
	var ans importAnswer
	ans.Results = make([]importItem, len(b.Items))
	for i, m := range b.Items {
		if m.InstanceID == nil {
			ans.Results[i] = importItem{Status: http.StatusBadRequest,
				Error: &errorBody{Code: "invalid", Field: "instance_id", Message: "instance_id is required"}}
			ins[i].InstanceID = -1 // refused again below, unsent
			continue
		}
		ins[i] = controller.MappingInput{InstanceID: *m.InstanceID, EID: m.EID, Site: m.Site, TTL: m.TTL}
		for _, l := range m.RLOCs {
			ins[i].RLOCs = append(ins[i].RLOCs, controller.LocatorInput(l))
		}
	}
	for i, r := range s.ctl.CreateMappings(c.Request.Context(), ins) {
		switch {
		case ans.Results[i].Status != 0:
			ans.Refused++
		case r.Err != nil:
			status, body := errorOf(r.Err)
			ans.Results[i] = importItem{Status: status, Error: &body}
			ans.Refused++
		case r.Created:
			ans.Results[i].Status = http.StatusCreated
			ans.Created++
		default:
			ans.Results[i].Status = http.StatusOK
			ans.Replaced++
		}
	}
	if ans.Created+ans.Replaced == 0 && c.Request.Context().Err() != nil {
		failErr(c, c.Request.Context().Err())
		return
	}
	c.JSON(http.StatusOK, ans)
}
