// The type a v5c dashboard must satisfy: Grafana's own dashboard model (@grafana/schema),
// with each panel's `options` and `fieldConfig.defaults.custom` typed by its plugin's
// published panel config, and its queries by the Prometheus query model.
//
// Dashboards are JSON, so string enums are checked as their values (`Json<T>`). Object
// literals get TypeScript's excess-property check: a key the types do not know is an error.
import type * as schema from '@grafana/schema';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';

export type Json<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

// The Prometheus data source's query. @grafana/schema does not publish it (the Prometheus
// plugin is built into Grafana); these are the fields of Grafana's PromQuery that v5c writes.
export interface PromQuery extends schema.DataQuery {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
}

type PanelBase = Omit<schema.Panel, 'type' | 'targets' | 'options' | 'fieldConfig'> & {
  id: number;
  gridPos: schema.GridPos;
  datasource: schema.DataSourceRef;
  targets: Array<PromQuery>;
};

type FieldConfigSource<Custom> = {
  defaults: Omit<schema.FieldConfig, 'custom'> & { custom?: Custom };
  overrides: schema.FieldConfigSource['overrides'];
};

export type TimeSeriesPanel = PanelBase & {
  type: 'timeseries';
  options: timeseries.Options;
  fieldConfig: FieldConfigSource<timeseries.FieldConfig>;
};

export type StatPanel = PanelBase & {
  type: 'stat';
  options: stat.Options;
  fieldConfig: FieldConfigSource<never>;
};

export type RowPanel = schema.RowPanel & { id: number };

export type Dashboard = Json<
  Omit<schema.Dashboard, 'panels'> & {
    uid: string;
    title: string;
    panels: Array<TimeSeriesPanel | StatPanel | RowPanel>;
  }
>;
