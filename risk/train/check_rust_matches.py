import json,re,sys; sys.path.insert(0,'/work/main/risk/train'); import train_model as T
src=open('/work/main/risk/src/model_weights.rs').read()
c=lambda n: float(re.search(r'pub const '+n+r': \w+ = ([^;]+);',src).group(1))
W={}
for line in src.splitlines():
    m=re.match(r'^    \("(.*)", (-?[0-9.]+), (-?[0-9.]+)\),$',line)
    if m: W[m.group(1)]=(float(m.group(2)),float(m.group(3)))
th={'t_any':c('T_ANY'),'t_high':c('T_HIGH'),'min_words':int(c('MIN_WORDS')),'min_ev':c('MIN_EVIDENCE'),'high_needs':int(c('HIGH_NEEDS'))}
docs=T.prep(T.load(sys.argv[1]))
rules={r['id']:r['level'] for r in T.load(sys.argv[2])}
rust={r['id']:r['level'] for r in T.load(sys.argv[3])}
bad=0
for d in docs:
    za,zh,ea,eh=c('BIAS_ANY'),c('BIAS_HIGH'),0,0
    for f in d['feats']:
        if f in W: a,h=W[f]; za+=a; zh+=h; ea+=max(a,0); eh+=max(h,0)
    p=T.decide(rules[d['id']],d['nwords'],(za,ea,zh,eh),th,d['gate'])
    if p!=rust[d['id']]: bad+=1; print(d['id'],p,rust[d['id']],rules[d['id']])
print('python/rust disagreements:',bad,'features',len(W))
