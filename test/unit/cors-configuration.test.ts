import { ConfigurationError, loadConfiguration } from '../../src/config';

describe('CORS_ORIGINS', () => {
  it('is empty (same origin only) by default', () => {
    expect(loadConfiguration({}).api.corsOrigins).toEqual([]);
  });

  it('takes a comma-separated list of origins, or *', () => {
    expect(loadConfiguration({ CORS_ORIGINS: ' https://chat.example.com , http://localhost:5173 ' }).api.corsOrigins).toEqual(['https://chat.example.com', 'http://localhost:5173']);
    expect(loadConfiguration({ CORS_ORIGINS: '*' }).api.corsOrigins).toEqual(['*']);
  });

  it.each(['https://chat.example.com/', 'https://chat.example.com/app', 'chat.example.com', 'ftp://files.example.com'])('rejects %j naming the variable', (origin) => {
    expect(() => loadConfiguration({ CORS_ORIGINS: origin })).toThrow(ConfigurationError);
    expect(() => loadConfiguration({ CORS_ORIGINS: origin })).toThrow(/CORS_ORIGINS/);
  });
});

describe('CODEC_CORS_ORIGINS', () => {
  it('defaults to the Temporal UI on TEMPORAL_UI_PORT, so a UI moved to another port can still decode', () => {
    expect(loadConfiguration({}).encryption.codecCorsOrigins).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
    expect(loadConfiguration({ TEMPORAL_UI_PORT: '18233' }).encryption.codecCorsOrigins).toEqual(['http://localhost:18233', 'http://127.0.0.1:18233']);
  });

  it('is replaced by an explicit list', () => {
    expect(loadConfiguration({ TEMPORAL_UI_PORT: '18233', CODEC_CORS_ORIGINS: 'https://cloud.temporal.io' }).encryption.codecCorsOrigins).toEqual(['https://cloud.temporal.io']);
  });
});
