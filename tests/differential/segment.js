// Evaluates generated cases with Segment's own packages, all in one process.
// Reads {"mappings": [[mapping, event], ...], "triggers": [[expression, event], ...]} on stdin;
// writes {"mappings": [{"ok": payload} | {"error": message}], "triggers": [true | false | "error"]}.
// The Python side (test_segment.py) decides what agrees; this file only asks Segment.
'use strict'

const { transform } = require('@segment/actions-core/mapping-kit')
const { parseFql, validate } = require('@segment/destination-subscriptions')

function mapping([mapping, event]) {
  try {
    return { ok: transform(mapping, event) }
  } catch (error) {
    return { error: String(error && error.message) }
  }
}

function trigger([expression, event]) {
  const ast = parseFql(expression)
  if (ast.error) {
    return 'error' // Segment's parser refused it: such a subscription never matches
  }
  try {
    return validate(ast, event)
  } catch (error) {
    return 'error' // some parses crash when evaluated (a group left with an empty slot)
  }
}

let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => (input += chunk))
process.stdin.on('end', () => {
  const cases = JSON.parse(input)
  const out = { mappings: cases.mappings.map(mapping), triggers: cases.triggers.map(trigger) }
  process.stdout.write(JSON.stringify(out))
})
