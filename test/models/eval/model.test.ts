import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../config/load.js';
import { buildClassMapping, parseMapOption } from '../../../models/eval/classes.js';
import {
  inferFromShapes,
  modelFromConfig,
  modelFromOnnx,
  parseLabelsJson,
} from '../../../models/eval/model.js';

const repoFile = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

describe('class mapping (--map)', () => {
  const model = ['knife', 'gun', 'powder'];

  it('parses pairs, across several --map options, and rejects bad syntax', () => {
    expect([...parseMapOption(['Straight_Knife=knife, Gun = gun', 'Folding Knife=knife,'])]).toEqual([
      ['Straight_Knife', 'knife'],
      ['Gun', 'gun'],
      ['Folding Knife', 'knife'],
    ]);
    for (const bad of ['knife', '=knife', 'Gun=', 'a=b=c'])
      expect(() => parseMapOption([bad])).toThrow(/is not "dataset_class=model_label"/);
    expect(() => parseMapOption(['a=knife,a=gun'])).toThrow('"a" is mapped twice');
  });

  it('maps explicitly, by index, or by the same name ignoring case; reports what is left out', () => {
    const m = buildClassMapping(
      ['Straight_Knife', 'Folding_Knife', 'GUN', 'Hammer', 'x'],
      model,
      parseMapOption(['Straight_Knife=knife,1=knife']),
    );
    expect(m.toModel).toEqual([0, 0, 1, null, null]);
    expect(m.excluded).toEqual(['Hammer', 'x']);
    expect(m.absent).toEqual(['powder']);
    expect([...m.present]).toEqual([0, 1]);
  });

  it('an unknown dataset class or model label in --map is an error listing the known ones', () => {
    expect(() => buildClassMapping(['a'], model, new Map([['b', 'knife']]))).toThrow(
      '"b" is not a dataset class (dataset: a)',
    );
    expect(() => buildClassMapping(['a'], model, new Map([['a', 'sword']]))).toThrow(
      '"sword" is not a model label (model: knife, gun, powder)',
    );
  });
});

describe('models given by path', () => {
  it('reads labels.json in the gateway, map and plain-list forms', () => {
    expect(parseLabelsJson('[{"name":"knife","category":"prohibited","threshold":0.5}]', 'l')).toEqual([
      { name: 'knife', category: 'prohibited', threshold: 0.5 },
    ]);
    expect(parseLabelsJson('{"knife":"prohibited","powder":"drug"}', 'l')).toEqual([
      { name: 'knife', category: 'prohibited' },
      { name: 'powder', category: 'drug' },
    ]);
    expect(parseLabelsJson('["knife"]', 'l')).toEqual([{ name: 'knife', category: 'prohibited' }]);
    expect(() => parseLabelsJson('[{"name":"k","category":"weapon"}]', 'l.json')).toThrow(
      /^l\.json: \[0\.category\]/,
    );
    expect(() => parseLabelsJson('nope', 'l.json')).toThrow('l.json: not JSON');
  });

  it('infers input and output layout from declared shapes, and leaves open what they do not settle', () => {
    const t = (type: string, shape: Array<number | string>) => ({ name: 'v', isTensor: true, type, shape });
    expect(inferFromShapes(t('float32', ['batch', 3, 640, 320]), t('float32', [1, 10, 8400]), 6)).toEqual({
      dtype: 'float32',
      layout: 'nchw',
      width: 320,
      height: 640,
      output: 'yolov8',
    });
    expect(inferFromShapes(t('uint8', [1, 416, 416, 3]), t('float32', [1, 25200, 11]), 6)).toMatchObject({
      dtype: 'uint8',
      layout: 'nhwc',
      output: 'yolov5',
    });
    expect(inferFromShapes(t('float32', [1, 3, 'h', 'w']), t('float32', [1, 300, 6]), 6)).toEqual({
      dtype: 'float32',
      layout: 'nchw',
      output: 'e2e',
    });
    // One class: yolov5 [1,N,6] and e2e [1,K,6] look alike; dynamic outputs say nothing.
    expect(inferFromShapes(undefined, t('float32', [1, 300, 6]), 1)).toEqual({});
    expect(inferFromShapes(undefined, t('float32', ['b', 'c', 'n']), 3)).toEqual({});
  });

  it('builds a ModelConfig from a fixture graph and its labels.json; asks for what the graph leaves open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-eval-model-'));
    copyFileSync(repoFile('models/fixtures/yolov8_nhwc_u8.onnx'), join(dir, 'Fixture V8.onnx'));
    copyFileSync(repoFile('models/fixtures/e2e_nchw_f32.onnx'), join(dir, 'e2e.onnx'));
    writeFileSync(join(dir, 'labels.json'), JSON.stringify(['knife', 'gun', 'powder']));
    expect(await modelFromOnnx(join(dir, 'Fixture V8.onnx'))).toMatchObject({
      name: 'fixture-v8',
      path: join(dir, 'Fixture V8.onnx'),
      input: { width: 64, height: 64, layout: 'nhwc', dtype: 'uint8' },
      output: 'yolov8',
      labels: [{ name: 'knife' }, { name: 'gun' }, { name: 'powder' }],
    });
    expect(await modelFromOnnx(join(dir, 'e2e.onnx'))).toMatchObject({
      output: 'e2e',
      input: { layout: 'nchw' },
    });
    expect(await modelFromOnnx(join(dir, 'e2e.onnx'), { output: 'yolov5', input: '32x48' })).toMatchObject({
      output: 'yolov5',
      input: { width: 32, height: 48 },
    });
    writeFileSync(join(dir, 'one.json'), '["knife"]');
    await expect(modelFromOnnx(join(dir, 'e2e.onnx'), { labels: join(dir, 'one.json') })).rejects.toThrow(
      'the graph does not settle output; give --output yolov5|yolov8|e2e',
    );
    await expect(modelFromOnnx(join(dir, 'missing.onnx'))).rejects.toThrow('model file not found');
    const bare = mkdtempSync(join(tmpdir(), 'pg-eval-model-'));
    copyFileSync(repoFile('models/fixtures/e2e_nchw_f32.onnx'), join(bare, 'm.onnx'));
    await expect(modelFromOnnx(join(bare, 'm.onnx'))).rejects.toThrow(/labels.json not found/);
  });

  it('takes a configured model from the config by name', () => {
    const { model, config } = modelFromConfig(repoFile('config/examples/demo.yaml'), 'prohibited');
    const declared = loadConfigFile(repoFile('config/examples/demo.yaml'), {}).config.models.find(
      (m) => m.name === 'prohibited',
    );
    expect(model).toEqual(declared);
    expect(model).toMatchObject({ name: 'prohibited', output: 'yolov8' });
    expect(config.inference.workers).toBeGreaterThan(0);
    expect(() => modelFromConfig(repoFile('config/examples/demo.yaml'), 'nope')).toThrow(
      'unknown model "nope"',
    );
    expect(() => modelFromConfig('/nonexistent.yaml', 'x')).toThrow(/cannot be read/);
  });
});
