/** Domain types shared by adapters, models and the gateway. Plain data only: they cross worker and wire boundaries. */

export type Category = 'prohibited' | 'drug';

/** File extensions an X-ray machine's image export may have (JPEG, PNG, BMP, TIFF), lower case. */
export const XRAY_IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.bmp',
  '.tif',
  '.tiff',
]);
export type Severity = 'red' | 'yellow';

/** [x1, y1, x2, y2] in source-image pixels (top-left origin, x2/y2 exclusive edges as floats). */
export type Box = [number, number, number, number];

export interface Detection {
  label: string;
  category: Category;
  score: number;
  box: Box;
  /** The view the detection was made on ("top", "side", or "main" for single-view machines). */
  view: string;
  model: { name: string; version: string };
}

/** One image of a scan as it sits on disk after the scan was claimed. */
export interface ScanImage {
  view: string;
  path: string;
  /** Original file name as delivered by the machine (untrusted: log it nested, never as a path). */
  originalName: string;
}

export interface ScanMeta {
  waybill: string | null;
  capturedAt: string | null;
}

/** A scan handed from an adapter to the gateway's intake. Files are still where the adapter found them. */
export interface ScanSubmission {
  sourceId: string;
  /** Where the files came from, for the scan record: 'hotfolder' | 'http'. */
  via: 'hotfolder' | 'http';
  images: Array<{ view: string; path: string; originalName: string }>;
  /** Extra files that belong to the scan and move with it (a sidecar JSON, a .done marker). */
  companions: string[];
  meta: ScanMeta;
}

/** The durable intake: claims a submission (scan record first, then an atomic move) and returns its id. */
export interface ScanIntake {
  submit(sub: ScanSubmission): Promise<{ scanId: string }>;
}

/** Why an input was refused; kept in the quarantine reason file and the metrics label. */
export interface QuarantineReason {
  code: string;
  message: string;
}
