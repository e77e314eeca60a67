//! OpenAPI 3 description of the labeling API, served at `/v1/openapi.json`.

use serde_json::{json, Value};

pub fn document() -> Value {
    let error = json!({ "$ref": "#/components/responses/Error" });
    let task_param = json!([{ "name": "task_id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let annotator = json!([{ "bearer": [] }]);
    json!({
        "openapi": "3.0.3",
        "info": { "title": "latentlabel labeling API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Annotators lease tasks, label or skip them. Bearer tokens per annotator; an admin token for /v1/admin." },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Task": { "type": "object", "required": ["task_id", "doc_id", "text", "labels", "lease_expires_at_ms"], "properties": {
                    "task_id": { "type": "string" }, "doc_id": { "type": "string" }, "text": { "type": "string" },
                    "labels": { "type": "array", "items": { "type": "string" } },
                    "annotator": { "type": "string" }, "leased_at_ms": { "type": "integer" }, "lease_expires_at_ms": { "type": "integer" },
                    "topics": { "type": "array", "items": { "type": "object" } },
                    "suggestion": { "type": "object", "nullable": true, "properties": { "label": { "type": "string" }, "confidence": { "type": "number" } } } } },
                "Outcome": { "type": "object", "properties": { "task_id": { "type": "string" }, "status": { "type": "object" }, "duplicate": { "type": "boolean" } } },
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" } } } } }
            },
            "responses": { "Error": { "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } }
        },
        "paths": {
            "/v1/tasks/lease": { "post": { "summary": "Lease the next task (most informative first)", "security": annotator,
                "responses": { "200": { "description": "a task", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Task" } } } },
                               "204": { "description": "nothing to do right now" }, "401": error, "403": error } } },
            "/v1/tasks/{task_id}": { "get": { "summary": "A task leased by the caller", "security": annotator, "parameters": task_param,
                "responses": { "200": { "description": "the task" }, "403": error, "404": error, "410": error } } },
            "/v1/tasks/{task_id}/submit": { "post": { "summary": "Label a leased task (idempotent)", "security": annotator, "parameters": task_param,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["label"],
                    "properties": { "label": { "type": "string" } }, "additionalProperties": false } } } },
                "responses": { "200": { "description": "accepted and durable", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Outcome" } } } },
                               "400": error, "401": error, "403": error, "404": error, "409": error, "410": error, "422": error, "503": error } } },
            "/v1/tasks/{task_id}/skip": { "post": { "summary": "Skip a leased task", "security": annotator, "parameters": task_param,
                "responses": { "200": { "description": "skipped" }, "403": error, "404": error } } },
            "/v1/tasks/{task_id}/extend": { "post": { "summary": "Extend the lease", "security": annotator, "parameters": task_param,
                "responses": { "200": { "description": "the task with its new expiry" }, "403": error, "404": error, "410": error } } },
            "/v1/tasks/{task_id}/release": { "post": { "summary": "Give the task back", "security": annotator, "parameters": task_param,
                "responses": { "200": { "description": "released" }, "403": error, "404": error } } },
            "/v1/me": { "get": { "summary": "The caller's progress and cost", "security": annotator, "responses": { "200": { "description": "stats" }, "401": error } } },
            "/v1/admin/queue": { "get": { "summary": "Queue state, costs, agreement, annotators", "security": [{ "bearer": [] }],
                "responses": { "200": { "description": "state" }, "401": error, "403": error } } },
            "/v1/admin/config": { "get": { "summary": "Effective configuration (tokens redacted)", "security": [{ "bearer": [] }],
                "responses": { "200": { "description": "config" }, "401": error, "403": error } } },
            "/v1/admin/datasets/commit": { "post": { "summary": "Commit a dataset version now", "security": [{ "bearer": [] }],
                "responses": { "200": { "description": "the new version's manifest" }, "401": error, "403": error, "409": error } } },
            "/v1/admin/gold": { "post": { "summary": "Add a gold item", "security": [{ "bearer": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["gold_id", "text", "label"],
                    "properties": { "gold_id": { "type": "string" }, "text": { "type": "string" }, "label": { "type": "string" } } } } } },
                "responses": { "200": { "description": "the gold task id" }, "400": error, "401": error, "403": error, "422": error } } }
        }
    })
}
