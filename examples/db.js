// A stand-in for your application's database: the customers it would list.
const customers = [
  { id: 'c_1', name: 'Acme Corp', plan: 'enterprise' },
  { id: 'c_2', name: 'Globex', plan: 'pro' },
  { id: 'c_3', name: 'Initech', plan: 'free' },
  { id: 'c_42', name: 'Umbrella', plan: 'enterprise' },
]

export default {
  customers: {
    list: async () => customers,
  },
}
