// Parse PromQL expressions with Prometheus' own grammar (@prometheus-io/lezer-promql, the parser
// of Prometheus' web UI) and print, per expression, what a test checks: syntax errors, metric
// names of vector selectors, label names of matchers, and the labels of each by / without
// clause in pre-order (so the first is the outermost aggregation's).
// Usage: LEZER_PROMQL_DIR=<dir with node_modules> node promql_parse.cjs < expressions.json
"use strict";
const { createRequire } = require("module");
const load = createRequire(`${process.env.LEZER_PROMQL_DIR}/`);
const { parser } = load("@prometheus-io/lezer-promql");

const expressions = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = expressions.map((expr) => {
  const found = { errors: [], metrics: [], matchers: [], grouping: [] };
  const cursor = parser.parse(expr).cursor();
  do {
    const text = expr.slice(cursor.from, cursor.to);
    if (cursor.type.isError) {
      found.errors.push(`at ${cursor.from}: ${JSON.stringify(expr.slice(cursor.from, cursor.from + 20))}`);
    } else if (cursor.name === "Identifier" && cursor.node.parent.name === "VectorSelector") {
      found.metrics.push(text);
    } else if (cursor.name === "GroupingLabels") {
      found.grouping.push([]);
    } else if (cursor.name === "LabelName") {
      const parent = cursor.node.parent.name;
      if (parent === "GroupingLabels") found.grouping[found.grouping.length - 1].push(text);
      else found.matchers.push(text);
    }
  } while (cursor.next());
  return found;
});
process.stdout.write(JSON.stringify(results));
