import { z } from 'zod';

/** The id of a site, machine, camera or model: safe in MQTT topics, URLs and file names. */
export const id = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'use lowercase letters, digits and dashes (max 63), starting with a letter or digit',
  );
