import { flexRender, tableFeatures, useTable, type ColumnDef, type RowData } from '@tanstack/react-table'
import type { ReactNode } from 'react'

/** No client-side sorting or filtering: lists are filtered and paged by the server. */
export const tableFeaturesNone = tableFeatures({})
export type Column<T extends RowData> = ColumnDef<typeof tableFeaturesNone, T>

/** A TanStack Table rendered as a plain, labelled HTML table (readable by screen readers, scrollable on a phone). */
export function DataTable<T extends RowData>({ caption, columns, data, rowKey, rowClass, empty }: {
  caption: string
  columns: Array<Column<T>>
  data: T[]
  rowKey: (row: T, index: number) => string
  rowClass?: (row: T) => string | undefined
  empty?: ReactNode
}) {
  const table = useTable<typeof tableFeaturesNone, T>({ features: tableFeaturesNone, columns, data, getRowId: (row, index) => rowKey(row, index) })
  if (data.length === 0 && empty) return <>{empty}</>
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} scope="col">
                  {header.isPlaceholder ? null : flexRender(header.column.columnDef.header, header.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} className={rowClass?.(row.original)}>
              {row.getAllCells().map((cell) => (
                <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
