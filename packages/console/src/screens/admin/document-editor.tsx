import { useEffect, useId, useRef, useState, type FormEvent } from 'react'
import { ErrorMessage } from '../../components/feedback'
import { bodyIssues, issuesByField } from './field-errors'
import { Field } from './admin-ui'

export interface DocField {
  key: string
  label: string
  kind: 'text' | 'number' | 'json'
  required?: boolean
  help?: string
}

type Doc = Record<string, unknown>

const toText = (field: DocField, value: unknown): string =>
  value === undefined || value === null ? '' : field.kind === 'json' ? JSON.stringify(value, null, 2) : String(value)

function textsOf(fields: DocField[], doc: Doc): Record<string, string> {
  return Object.fromEntries(fields.map((field) => [field.key, toText(field, doc[field.key])]))
}

/** The form's inputs as a document, or what is wrong with each input that cannot be read. */
function docOf(fields: DocField[], texts: Record<string, string>, extra: Doc): { doc: Doc } | { problems: Record<string, string[]> } {
  const doc: Doc = { ...extra }
  const problems: Record<string, string[]> = {}
  for (const field of fields) {
    const text = texts[field.key] ?? ''
    delete doc[field.key]
    if (text.trim() === '' && !(field.required && field.kind === 'text')) continue
    if (field.kind === 'text') doc[field.key] = text
    else if (field.kind === 'number') {
      const value = Number(text)
      if (Number.isFinite(value)) doc[field.key] = value
      else problems[field.key] = ['must be a number']
    } else {
      try {
        doc[field.key] = JSON.parse(text)
      } catch (error) {
        problems[field.key] = [`is not valid JSON: ${(error as Error).message}`]
      }
    }
  }
  return Object.keys(problems).length ? { problems } : { doc }
}

/**
 * A policy document edited as a structured form (one input per top-level property, nested parts as
 * JSON) or as one JSON text. The server validates; each issue it names (`body.match.x`) is shown
 * under the input holding `match`, or, in JSON mode, under the text with its whole path.
 */
export function DocumentEditor({
  title,
  fields,
  initial,
  submitLabel,
  pending,
  error,
  onSubmit,
  onCancel,
}: {
  title: string
  fields: DocField[]
  initial: Doc
  submitLabel: string
  pending: boolean
  error: unknown
  onSubmit(doc: Doc): void
  onCancel(): void
}) {
  const id = useId()
  const keys = fields.map((field) => field.key)
  // Properties the form has no input for (sent unchanged, and shown in JSON mode).
  const extra = Object.fromEntries(Object.entries(initial).filter(([key]) => !keys.includes(key)))
  const [mode, setMode] = useState<'form' | 'json'>('form')
  const [texts, setTexts] = useState(() => textsOf(fields, initial))
  const [extraDoc, setExtraDoc] = useState<Doc>(extra)
  const [json, setJson] = useState(() => JSON.stringify(initial, null, 2))
  const [local, setLocal] = useState<Record<string, string[]>>({})

  const issues = bodyIssues(error)
  // After a refusal, the keyboard lands on the first input the server named (its message is read with it).
  const formRef = useRef<HTMLFormElement>(null)
  useEffect(() => {
    if (error) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus()
  }, [error])
  const byField = issuesByField(issues, mode === 'form' ? keys : [])
  const shown = (key: string) => [...(local[key] ?? []), ...(mode === 'form' ? (byField[key] ?? []) : [])]
  const formLevel = mode === 'json' ? [...(local.json ?? []), ...issues.map((issue) => `${['body', ...issue.path].join('.')}: ${issue.message}`)] : (byField[''] ?? [])

  const parseJson = (): Doc | null => {
    try {
      const parsed: unknown = JSON.parse(json)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the document must be a JSON object')
      return parsed as Doc
    } catch (e) {
      setLocal({ json: [`is not valid JSON: ${(e as Error).message}`] })
      return null
    }
  }
  const switchTo = (next: 'form' | 'json') => {
    if (next === mode) return
    if (next === 'json') {
      const read = docOf(fields, texts, extraDoc)
      if ('problems' in read) return setLocal(read.problems)
      setJson(JSON.stringify(read.doc, null, 2))
    } else {
      const doc = parseJson()
      if (!doc) return
      setTexts(textsOf(fields, doc))
      setExtraDoc(Object.fromEntries(Object.entries(doc).filter(([key]) => !keys.includes(key))))
    }
    setLocal({})
    setMode(next)
  }
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setLocal({})
    if (mode === 'json') {
      const doc = parseJson()
      if (doc) onSubmit(doc)
      return
    }
    const read = docOf(fields, texts, extraDoc)
    if ('problems' in read) return setLocal(read.problems)
    onSubmit(read.doc)
  }

  return (
    <form ref={formRef} className="card stack" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>{title}</h2>
      <fieldset className="row modes">
        <legend>Edit as</legend>
        <label className="inline">
          <input type="radio" name={`${id}-mode`} checked={mode === 'form'} onChange={() => switchTo('form')} /> Form
        </label>
        <label className="inline">
          <input type="radio" name={`${id}-mode`} checked={mode === 'json'} onChange={() => switchTo('json')} /> JSON
        </label>
      </fieldset>
      {mode === 'form' ? (
        fields.map((field) => (
          <Field key={field.key} label={field.label} messages={shown(field.key)} {...(field.help ? { help: field.help } : {})}>
            {(a11y) => {
              const common = {
                ...a11y,
                name: field.key,
                value: texts[field.key] ?? '',
                required: field.required,
                onChange: (event: { target: { value: string } }) => setTexts((t) => ({ ...t, [field.key]: event.target.value })),
              }
              return field.kind === 'json' ? (
                <textarea {...common} rows={Math.min(12, Math.max(3, (texts[field.key] ?? '').split('\n').length + 1))} spellCheck={false} className="code" />
              ) : (
                <input {...common} type={field.kind === 'number' ? 'number' : 'text'} inputMode={field.kind === 'number' ? 'numeric' : undefined} />
              )
            }}
          </Field>
        ))
      ) : (
        <Field label="Policy as JSON" messages={formLevel}>
          {(a11y) => <textarea {...a11y} name="json" className="code" rows={18} spellCheck={false} value={json} onChange={(event) => setJson(event.target.value)} />}
        </Field>
      )}
      {mode === 'form' && formLevel.length ? (
        <p className="error" role="alert">
          {formLevel.join('; ')}
        </p>
      ) : null}
      {error && issues.length === 0 ? <ErrorMessage error={error} /> : null}
      {issues.length > 0 ? (
        <p className="error" role="alert">
          The server refused the policy: see the {issues.length === 1 ? 'message' : 'messages'} at the {mode === 'json' ? 'JSON' : 'fields'}.
        </p>
      ) : null}
      <div className="row">
        <button type="submit" disabled={pending}>
          {pending ? 'Saving…' : submitLabel}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}
